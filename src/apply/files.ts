// The `files` part: a node's rendered files installed under the root's etc/convergent/, haproxy.cfg
// and conntrackd.conf also where their daemons read them. Each file is written atomically (temp,
// fsync, rename) by a command like any change; a daemon is reloaded only when its own file changed,
// by the reload the caller gives (systemctl on a host, the lab's own in a namespace).
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FILES } from '../host/files.ts';
import type { Change, Command } from './change.ts';
import { type Desired, INSTALL_DIR } from './desired.ts';
import { ApplyError } from './errors.ts';
import type { HostIO, Part } from './part.ts';
import { partRecord, writePartRecord } from './state.ts';

export type Daemon = 'haproxy' | 'conntrackd';

/**
 * Rendered files also installed where their reader looks, relative to the root: a daemon's (reloaded
 * when it changed) and iproute2's names of convergent's tables and protocol. `owned`: the file is
 * convergent's alone (convergent.conf) and goes when the plan drops it; a daemon's stays as it is.
 */
export const COPIES: readonly {
  readonly file: string;
  readonly path: string;
  readonly daemon?: Daemon;
  readonly owned?: true;
}[] = [
  { file: `${INSTALL_DIR}/${FILES.haproxy}`, path: 'etc/haproxy/haproxy.cfg', daemon: 'haproxy' },
  {
    file: `${INSTALL_DIR}/${FILES.conntrackd}`,
    path: 'etc/conntrackd/conntrackd.conf',
    daemon: 'conntrackd',
  },
  { file: `${INSTALL_DIR}/${FILES.rtTables}`, path: 'etc/iproute2/rt_tables.d/convergent.conf', owned: true },
  { file: `${INSTALL_DIR}/${FILES.rtProtos}`, path: 'etc/iproute2/rt_protos.d/convergent.conf', owned: true },
];

/** How a daemon takes its changed file. */
export type Reload = (daemon: Daemon) => Command[];

/** A host's: HAProxy reloads (its connections stay; started when it was not running), conntrackd restarts. */
export const systemdReload: Reload = (daemon) =>
  daemon === 'haproxy'
    ? [{ argv: ['systemctl', 'reload-or-restart', 'haproxy'] }]
    : [{ argv: ['systemctl', 'restart', 'conntrackd'] }];

/**
 * The installed files: the regular files under etc/convergent/ and the copies that exist, never
 * through a symbolic link; and what the last completed apply installed (its record: sha256 by path,
 * "" for a file an unfinished apply was writing). Only the record's files are convergent's to delete:
 * an operator's own file beside them stays.
 */
export interface FilesLive {
  readonly files: ReadonlyMap<string, string>;
  readonly installed: ReadonlyMap<string, string>;
}

interface FilesRecord {
  readonly sha256: Readonly<Record<string, string>>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function lstat(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch {
    return undefined;
  }
}

/** What one path is, when it is not what it should be. */
function odd(abs: string, stat: Stats, want: 'file' | 'directory'): string | undefined {
  if (stat.isSymbolicLink()) return `${abs} is a symbolic link (to ${readlinkSync(abs)})`;
  if (want === 'directory' && !stat.isDirectory()) return `${abs} is not a directory`;
  if (want === 'file' && !stat.isFile()) return `${abs} is not a regular file`;
  return undefined;
}

/**
 * Why convergent cannot write a file at `rel` under the root: a symbolic link on its way (written
 * through, the file would land outside the root), a file where a directory must be, a directory or a
 * link where the file must be. undefined: it can. `dirsOnly`: `rel`'s directories only.
 */
function obstacle(root: string, rel: string, dirsOnly = false): string | undefined {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const last = i === parts.length;
    if (last && dirsOnly) return undefined;
    const abs = join(root, ...parts.slice(0, i));
    const stat = lstat(abs);
    if (stat === undefined) return undefined;
    const why = odd(abs, stat, last ? 'file' : 'directory');
    if (why !== undefined) return why;
  }
  return undefined;
}

function walk(root: string, rel: string, out: Map<string, string>): void {
  const stat = lstat(join(root, rel));
  if (stat?.isFile()) out.set(rel, readFileSync(join(root, rel), 'utf8'));
  if (!stat?.isDirectory()) return;
  // Our own temp files (a write that was cut) are not files of the plan.
  for (const name of readdirSync(join(root, rel)).sort())
    if (!name.endsWith('.convergent-new')) walk(root, `${rel}/${name}`, out);
}

/** `rel`'s files, when no symbolic link leads to it. */
function walkFrom(root: string, rel: string, out: Map<string, string>): void {
  if (obstacle(root, rel, true) === undefined) walk(root, rel, out);
}

/** Every file the desired state has, the copies included; undefined: must not be there. */
function targets(desired: Desired): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>(desired.files.map((f) => [f.path, f.text]));
  for (const c of COPIES) {
    const text = out.get(c.file);
    if (out.has(c.path)) continue;
    if (text !== undefined) out.set(c.path, text);
    else if (c.owned && desired.nft.kind === 'plan') out.set(c.path, undefined);
  }
  return out;
}

/** Writes `text` at `path` atomically: a crash leaves the old file or the new one. */
function writeCommand(path: string, text: string): Command {
  const mode = path.endsWith('.sh') ? '755' : '644';
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.convergent-new`);
  const script = `set -e; mkdir -p "$2"; cat > "$3"; chmod ${mode} "$3"; sync "$3"; mv -f "$3" "$1"; sync "$2"`;
  return { argv: ['sh', '-c', script, 'sh', path, dir, temp], input: text };
}

function fileChange(io: HostIO, path: string, had: string | undefined, text: string | undefined): Change {
  const abs = join(io.root, path);
  if (text === undefined) {
    // Its directory goes with its last file, when it is one of etc/convergent/'s own (sysctl.d/).
    const dir = dirname(path);
    const rmdir = dir.startsWith(`${INSTALL_DIR}/`)
      ? [{ argv: ['rmdir', '--ignore-fail-on-non-empty', join(io.root, dir)] }]
      : [];
    return {
      part: 'files',
      action: 'delete',
      what: `file ${abs}`,
      commands: [{ argv: ['rm', '-f', abs] }, ...rmdir],
    };
  }
  const lines = (s: string) => s.split('\n').length - 1;
  return {
    part: 'files',
    action: had === undefined ? 'add' : 'change',
    what: `file ${abs}`,
    detail: had === undefined ? `${lines(text)} lines` : differing(had, text),
    commands: [writeCommand(abs, text)],
  };
}

/**
 * "+6 -0 lines": the lines one file has and the other not, counted as multisets (a line inserted
 * near the top is one line, not every line after it). How much changes, not the diff itself.
 */
function differing(a: string, b: string): string {
  const count = new Map<string, number>();
  for (const line of a.split('\n')) count.set(line, (count.get(line) ?? 0) + 1);
  let added = 0;
  for (const line of b.split('\n')) {
    const n = count.get(line) ?? 0;
    if (n > 0) count.set(line, n - 1);
    else added++;
  }
  const removed = [...count.values()].reduce((sum, n) => sum + n, 0);
  return `+${added} -${removed} lines`;
}

/** A file of the plan where convergent cannot write it: refused before anything changes. */
function refuseObstacles(root: string, want: ReadonlyMap<string, string | undefined>): void {
  for (const [path, text] of want) {
    const why = text === undefined ? undefined : obstacle(root, path);
    if (why !== undefined)
      throw new ApplyError(
        'failed',
        `cannot install ${join(root, path)}: ${why}; convergent writes its files as files, never through a link`,
        `remove it (or replace the link with a directory of its own), then apply again`,
      );
  }
}

/** The paths an apply installed, with their sha256. */
function recordOf(want: ReadonlyMap<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    [...want]
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([path, text]) => [path, sha256(text)]),
  );
}

export function filesPart(reload: Reload): Part<FilesLive> {
  return {
    name: 'files',
    read: (io) => {
      const files = new Map<string, string>();
      walkFrom(io.root, INSTALL_DIR, files);
      for (const c of COPIES) walkFrom(io.root, c.path, files);
      const record = partRecord<FilesRecord>(io.stateDir, 'files');
      return { files, installed: new Map(Object.entries(record?.sha256 ?? {})) };
    },
    changes: (io, live, desired) => {
      const want = targets(desired);
      refuseObstacles(io.root, want);
      const out: Change[] = [];
      for (const [path, text] of want) {
        const had = live.files.get(path);
        if (had !== text) out.push(fileChange(io, path, had, text));
      }
      // A file convergent installed that the plan no longer has; an operator's own file beside them
      // stays, and so does a daemon's own file.
      for (const [path, had] of live.files)
        if (path.startsWith(`${INSTALL_DIR}/`) && !want.has(path) && live.installed.has(path))
          out.push(fileChange(io, path, had, undefined));
      for (const c of COPIES) {
        const text = want.get(c.path);
        if (c.daemon === undefined || text === undefined) continue;
        // Changed now, or since the last completed apply: one cut between its writes and this
        // reload left the daemon on the file before.
        const changed = live.files.get(c.path) !== text;
        if (changed || live.installed.get(c.path) !== sha256(text))
          out.push({
            part: 'files',
            action: 'change',
            what: `daemon ${c.daemon}`,
            detail: changed
              ? `reload: ${c.path} changed`
              : `reload: ${c.path} not known to be taken (no completed apply installed it)`,
            commands: reload(c.daemon),
          });
      }
      return out;
    },
    snapshot: (_io, live, desired) => {
      // The files this apply may write or delete, as they are: undefined, not there (a rollback
      // removes it). An operator's own file is none of the checkpoint's business.
      const paths = new Set([
        ...targets(desired).keys(),
        ...live.installed.keys(),
        ...COPIES.map((c) => c.path),
      ]);
      return { files: [...paths].sort().map((path) => ({ path, text: live.files.get(path) })) };
    },
    begin: (io, live, desired) => {
      // Should the apply be cut, the files it writes are convergent's to delete on the next run, and
      // their daemons are reloaded then: "" matches no file.
      const sha = Object.fromEntries(live.installed);
      for (const [path, text] of targets(desired))
        if (text !== undefined && (live.files.get(path) !== text || !(path in sha))) sha[path] = '';
      writePartRecord(io.stateDir, 'files', { sha256: sha } satisfies FilesRecord);
    },
    record: (io, desired) => {
      writePartRecord(io.stateDir, 'files', { sha256: recordOf(targets(desired)) } satisfies FilesRecord);
    },
  };
}
