// The `files` part: a node's rendered files installed under the root's etc/convergent/, haproxy.cfg
// and conntrackd.conf also where their daemons read them. Each file is written atomically (temp,
// fsync, rename) by a command like any change; a daemon is reloaded only when its own file changed,
// by the reload the caller gives (systemctl on a host, the lab's own in a namespace).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FILES } from '../host/files.ts';
import type { Change, Command } from './change.ts';
import { type Desired, type DesiredFile, INSTALL_DIR } from './desired.ts';
import type { HostIO, Part } from './part.ts';
import { writePartRecord } from './state.ts';

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

/** The installed files: everything under etc/convergent/, and the copies that exist. */
export type FilesLive = ReadonlyMap<string, string>;

function walk(root: string, rel: string, out: Map<string, string>): void {
  const abs = join(root, rel);
  if (!existsSync(abs)) return;
  if (!statSync(abs).isDirectory()) {
    out.set(rel, readFileSync(abs, 'utf8'));
    return;
  }
  // Our own temp files (a write that was cut) are not files of the plan.
  for (const name of readdirSync(abs).sort())
    if (!name.endsWith('.convergent-new')) walk(root, `${rel}/${name}`, out);
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

export function filesPart(reload: Reload): Part<FilesLive> {
  return {
    name: 'files',
    read: (io) => {
      const live = new Map<string, string>();
      walk(io.root, INSTALL_DIR, live);
      for (const c of COPIES) walk(io.root, c.path, live);
      return live;
    },
    changes: (io, live, desired) => {
      const want = targets(desired);
      const out: Change[] = [];
      for (const [path, text] of want)
        if (live.get(path) !== text) out.push(fileChange(io, path, live.get(path), text));
      // A file of etc/convergent/ the plan no longer has; a daemon's own file stays as it is.
      for (const path of live.keys())
        if (path.startsWith(`${INSTALL_DIR}/`) && !want.has(path))
          out.push(fileChange(io, path, live.get(path), undefined));
      for (const c of COPIES) {
        const text = want.get(c.path);
        if (c.daemon !== undefined && text !== undefined && live.get(c.path) !== text)
          out.push({
            part: 'files',
            action: 'change',
            what: `daemon ${c.daemon}`,
            detail: `reload: ${c.path} changed`,
            commands: reload(c.daemon),
          });
      }
      return out;
    },
    snapshot: (_io, live) => {
      const files: DesiredFile[] = [...live].map(([path, text]) => ({ path, text }));
      for (const c of COPIES) if (!live.has(c.path)) files.push({ path: c.path, text: undefined });
      return { files };
    },
    record: (io, desired) => {
      const sha256 = Object.fromEntries(
        [...targets(desired)]
          .filter((e): e is [string, string] => e[1] !== undefined)
          .map(([path, text]) => [path, createHash('sha256').update(text).digest('hex')]),
      );
      writePartRecord(io.stateDir, 'files', { sha256 });
    },
  };
}
