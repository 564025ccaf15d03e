// The state dir (--state, /var/lib/convergent on a host): applied.json (what the last completed apply
// made: its common fields here, each part's own record under its name), journal.json (an apply that
// is not finished) and checkpoint/ (checkpoint.ts). Every write is atomic (temp, fsync, rename,
// fsync of the directory): a crash leaves the old file or the new one, never half of either.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ApplyError } from './errors.ts';

export const DEFAULT_STATE_DIR = '/var/lib/convergent';
export const APPLIED = 'applied.json';
export const JOURNAL = 'journal.json';
const LOCK = 'lock';

/** Writes `text` to `path` so that a crash at any point leaves the old content or the new. */
export function writeAtomic(path: string, text: string, mode = 0o644): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.${path.slice(dir.length + 1)}.${process.pid}.new`);
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDir(dir);
}

/** The rename itself is durable once the directory is synced. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A JSON file of the state dir, or undefined when it is not there; a broken one is named. */
function readJson(stateDir: string, name: string): unknown {
  const path = join(stateDir, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApplyError('needs', `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApplyError(
      'failed',
      `${path} is not JSON (a disk or a hand broke it)`,
      `look at it, then remove it: convergent rebuilds it on the next apply`,
    );
  }
}

/** An apply in progress: applying its changes, awaiting `apply --confirm`, or rolling back. */
export interface Journal {
  readonly id: string;
  readonly phase: 'applying' | 'awaiting' | 'rolling-back';
  readonly cluster: string;
  readonly node: string;
  /** The process applying: the watchdog rolls back at once when it died mid-change. */
  readonly pid: number;
  /** When the watchdog rolls back without a confirm (ISO time). */
  readonly deadline?: string;
  readonly watchdog?: number;
}

export const readJournal = (stateDir: string): Journal | undefined =>
  readJson(stateDir, JOURNAL) as Journal | undefined;

export const writeJournal = (stateDir: string, journal: Journal): void =>
  writeAtomic(join(stateDir, JOURNAL), `${JSON.stringify(journal, null, 2)}\n`);

export function clearJournal(stateDir: string): void {
  rmSync(join(stateDir, JOURNAL), { force: true });
  syncDir(stateDir);
}

/** applied.json: the last completed apply; `parts` holds each part's record under its name. */
export interface Applied {
  readonly cluster: string;
  readonly node: string;
  readonly time: string;
  readonly parts: Readonly<Record<string, unknown>>;
}

export const readApplied = (stateDir: string): Applied | undefined =>
  readJson(stateDir, APPLIED) as Applied | undefined;

/** A part's record from the last apply (owned addresses, the nft record, the files' sha256). */
export const partRecord = <T>(stateDir: string, part: string): T | undefined =>
  readApplied(stateDir)?.parts[part] as T | undefined;

/** Sets one part's record, keeping the others'. */
export function writePartRecord(stateDir: string, part: string, value: unknown): void {
  const old = readApplied(stateDir);
  const applied: Applied = {
    cluster: old?.cluster ?? '',
    node: old?.node ?? '',
    time: old?.time ?? new Date().toISOString(),
    parts: { ...old?.parts, [part]: value },
  };
  writeAtomic(join(stateDir, APPLIED), `${JSON.stringify(applied, null, 2)}\n`);
}

/** After a completed apply: whose state this is, and when. */
export function writeAppliedCommon(stateDir: string, cluster: string, node: string): void {
  const old = readApplied(stateDir);
  const applied: Applied = { cluster, node, time: new Date().toISOString(), parts: old?.parts ?? {} };
  writeAtomic(join(stateDir, APPLIED), `${JSON.stringify(applied, null, 2)}\n`);
}

/** Whether `pid` is a live process (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/**
 * One apply, rollback or confirm at a time on a state dir: the lock file holds the pid of its holder;
 * a holder that died (SIGKILL) leaves it stale, and the next one takes it over. Returns the pid that
 * holds it when that one is alive.
 */
export function lock(stateDir: string): number | undefined {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (holder === process.pid) return undefined;
    if (Number.isInteger(holder) && alive(holder)) return holder;
    rmSync(path, { force: true });
  }
  throw new ApplyError('failed', `cannot take the lock ${path}`, 'remove it if no convergent runs');
}

export function unlock(stateDir: string): void {
  const path = join(stateDir, LOCK);
  try {
    if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) rmSync(path, { force: true });
  } catch {}
}
