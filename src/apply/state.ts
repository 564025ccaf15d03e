// The state dir (--state, /var/lib/convergent on a host): applied.json (what the last completed apply
// made: its common fields here, each part's own record under its name), journal.json (an apply that
// is not finished) and checkpoint/ (checkpoint.ts). Every write is atomic (temp, fsync, rename,
// fsync of the directory): a crash leaves the old file or the new one, never half of either.
import {
  closeSync,
  fsyncSync,
  linkSync,
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
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw notADirectory(stateDir);
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

/** The state dir, made when it is not there; a file (or a file on its way) where it must be is named. */
function makeStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw notADirectory(stateDir);
    throw new ApplyError('needs', `cannot make the state dir ${stateDir}: ${(err as Error).message}`);
  }
}

const notADirectory = (stateDir: string) =>
  new ApplyError(
    'needs',
    `the state dir ${stateDir} is not a directory (a file is there, or on its way)`,
    `give --state a directory (default ${DEFAULT_STATE_DIR}), or move that file away`,
  );

/** The pid a lock file names (NaN: none, a broken file); undefined when it is gone. */
function pidIn(path: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether `from` now is the lock: link() makes it whole or not at all, never an empty file. */
function linked(from: string, path: string): boolean {
  try {
    linkSync(from, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Takes the lock of a dead holder away: renamed aside (only one taker gets it), then read again,
 * since another may have taken it over between our read and the rename. That one, alive, gets its
 * lock back and is returned.
 */
function takeOver(stateDir: string, path: string): number | undefined {
  const aside = join(stateDir, `.${LOCK}.stale.${process.pid}`);
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const holder = pidIn(aside);
  if (holder !== undefined && holder !== process.pid && alive(holder)) {
    linked(aside, path);
    rmSync(aside, { force: true });
    return holder;
  }
  rmSync(aside, { force: true });
  return undefined;
}

/**
 * One apply, rollback or confirm at a time on a state dir: the lock file holds the pid of its holder,
 * written to a file of our own first and linked into place. A holder that died (SIGKILL) leaves it
 * stale, and the next one takes it over. Returns the pid that holds it when that one is alive.
 */
export function lock(stateDir: string): number | undefined {
  makeStateDir(stateDir);
  const path = join(stateDir, LOCK);
  const mine = join(stateDir, `.${LOCK}.${process.pid}`);
  writeAtomic(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (linked(mine, path)) return undefined;
      const holder = pidIn(path);
      if (holder === undefined) continue;
      if (holder === process.pid) return undefined;
      if (alive(holder)) return holder;
      const other = takeOver(stateDir, path);
      if (other !== undefined) return other;
    }
  } finally {
    rmSync(mine, { force: true });
  }
  throw new ApplyError('failed', `cannot take the lock ${path}`, 'remove it if no convergent runs');
}

export function unlock(stateDir: string): void {
  const path = join(stateDir, LOCK);
  try {
    if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) rmSync(path, { force: true });
  } catch {}
}
