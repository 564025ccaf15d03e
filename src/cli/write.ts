// Writes rendered files all-or-nothing: everything goes to a fresh directory beside the target,
// which then replaces each node's directory by rename. A failure leaves the old output untouched.
// An --out that cannot hold files is refused before anything is written, and every I/O failure is a
// UsageError naming the path, never Node's errno text.
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { RenderedFile } from '../host/files.ts';
import { UsageError } from './errors.ts';

export function writeNodeDirs(outDir: string, nodes: ReadonlyMap<string, readonly RenderedFile[]>): void {
  const target = resolve(outDir);
  refuseUnwritable(outDir, target);
  let staging: string | undefined;
  try {
    mkdirSync(target, { recursive: true });
    staging = mkdtempSync(join(target, '.convergent-'));
    for (const [node, files] of nodes) {
      for (const file of files) {
        const path = join(staging, node, file.path);
        mkdirSync(dirname(path), { recursive: true });
        const fd = openSync(path, 'w');
        try {
          for (const chunk of file.chunks) writeSync(fd, chunk);
        } finally {
          closeSync(fd);
        }
      }
    }
    for (const node of nodes.keys()) {
      const final = join(target, node);
      rmSync(final, { recursive: true, force: true });
      renameSync(join(staging, node), final);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Name the file as it would have been in --out, not as in the staging directory.
    const at = staging && e.path?.startsWith(staging) ? target + e.path.slice(staging.length) : e.path;
    throw writeFailure(outDir, e, at?.replace(/\/\.convergent-$/, ''));
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

// Kernel file systems that hold no files of ours (statfs f_type). Node's recursive mkdir loops
// forever below /proc; these are refused before it is called.
const PSEUDO: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x1cd1, 'devpts'],
]);

const FIX = 'name a directory on a writable disk, e.g. --out ./out (it is created when missing)';

/** The checks that need no write: the path's kind, its file system, permission. */
function refuseUnwritable(outDir: string, target: string): void {
  // By name first: below /proc a path that does not exist yet is no directory to look at.
  const top = target.split('/')[1];
  if (top === 'proc' || top === 'sys')
    throw new UsageError(`--out ${outDir}: /${top} is the kernel's, it holds no rendered files`, FIX);
  // The nearest existing directory at or above the target: everything below it is created.
  let existing = target;
  for (;;) {
    const stat = statOrUndefined(existing, outDir);
    if (stat && !stat.isDirectory()) {
      throw new UsageError(
        existing === target
          ? `--out ${outDir} is a file, not a directory`
          : `--out ${outDir} is below ${existing}, which is a file, not a directory`,
        FIX,
      );
    }
    if (stat) break;
    existing = dirname(existing);
  }
  const fs = PSEUDO.get(statfsSync(existing).type);
  if (fs)
    throw new UsageError(
      `--out ${outDir}: ${existing} is on ${fs}, a kernel file system that holds no files`,
      FIX,
    );
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw writeFailure(outDir, err as NodeJS.ErrnoException, existing);
  }
}

function statOrUndefined(path: string, outDir: string) {
  try {
    return statSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw writeFailure(outDir, e, path);
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'a read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a file is in the way',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'a loop of symbolic links',
  EIO: 'an I/O error of the device',
};

function writeFailure(outDir: string, err: NodeJS.ErrnoException, at = outDir): UsageError {
  const reason = REASONS[err.code ?? ''] ?? `error ${err.code ?? err.message}`;
  return new UsageError(`--out ${outDir}: cannot write ${at}: ${reason}`, FIX);
}
