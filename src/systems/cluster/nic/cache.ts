// The hooks' cache: reading a 10,000-guest spec (YAML with positions, schema, validate, resolve)
// takes 1-2 s, the hook's own work 16 ms, and a node booting 100 guests runs the hook 100 times.
// One file per spec path holds the spec's NIC table under the key it was made from: sha256 of the
// spec's bytes and of the program reading it (its size and mtime), so one byte changed in either
// misses. A spec with problems throws before anything is written: the hook refuses it as before.
// The cache is never a reason to fail: a file that cannot be read, checked or written is ignored.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readCluster } from '../system.ts';
import { looksLikeNicTable, type NicTable, nicTableOf } from './table.ts';

/** Root's, as the hooks run: under /run, so a reboot starts empty. $CONVERGENT_CACHE_DIR moves it. */
export const CACHE_DIR = '/run/convergent/cache';
const FORMAT = 'convergent nic table 1';

export interface CacheOptions {
  readonly dir?: string;
  /** The slow path: a spec file read, checked and resolved (tests count its calls). */
  readonly load?: (file: string) => NicTable;
  /** The program's file, part of the key: process.argv[1]. */
  readonly program?: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * What makes a table: the program (size and mtime of the file that runs: the bundle, or dist's
 * main.js, rewritten by every build) and the spec's bytes. A TypeScript source run through tsx is
 * many files, any of which may change: no key, no cache.
 */
function keyOf(program: string | undefined, bytes: Buffer): string | undefined {
  if (program === undefined || program.endsWith('.ts')) return undefined;
  try {
    const s = statSync(program);
    const id = `${FORMAT} ${resolve(program)} ${s.size} ${s.mtimeMs}\n`;
    return sha256(Buffer.concat([Buffer.from(id), bytes]));
  } catch {
    return undefined;
  }
}

const bytesOf = (file: string): Buffer | undefined => {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
};

/** The spec's NIC table: from the cache when the spec and the program are unchanged. */
export function readNicTable(file: string, options: CacheOptions = {}): NicTable {
  const dir = options.dir ?? (process.env.CONVERGENT_CACHE_DIR || CACHE_DIR);
  const load = options.load ?? ((f: string) => nicTableOf(readCluster(f)));
  const before = bytesOf(file);
  // Unreadable: the slow path says why, located, as it always did.
  const key = before && keyOf(options.program ?? process.argv[1], before);
  if (before === undefined || key === undefined) return load(file);
  const entry = join(dir, `${sha256(resolve(file)).slice(0, 32)}.json`);
  const cached = readEntry(dir, entry, key);
  if (cached) return cached;
  const table = load(file);
  // Written only when the spec did not change while it was read: the key must be what was read.
  const after = bytesOf(file);
  if (after?.equals(before)) writeEntry(dir, entry, key, table);
  return table;
}

/** A trusted directory: ours, and no one else may write in it (no one could plant a table). */
function trusted(dir: string): boolean {
  try {
    const s = lstatSync(dir);
    return s.isDirectory() && s.uid === process.getuid?.() && (s.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The entry's lines: format and key, sha256 of the JSON, the JSON; anything else is no entry. */
function readEntry(dir: string, entry: string, key: string): NicTable | undefined {
  if (!trusted(dir)) return undefined;
  try {
    const text = readFileSync(entry, 'utf8');
    const first = text.indexOf('\n');
    const second = text.indexOf('\n', first + 1);
    if (first < 0 || second < 0) return undefined;
    if (text.slice(0, first) !== `${FORMAT} ${key}`) return undefined;
    const json = text.slice(second + 1);
    if (text.slice(first + 1, second) !== sha256(json)) return undefined;
    const table: unknown = JSON.parse(json);
    return looksLikeNicTable(table) ? table : undefined;
  } catch {
    return undefined;
  }
}

/** Atomically (a temporary file renamed over the entry); a failure leaves no file behind. */
function writeEntry(dir: string, entry: string, key: string, table: NicTable): void {
  const temp = `${entry}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(dir)) return;
    const json = JSON.stringify(table);
    writeFileSync(temp, `${FORMAT} ${key}\n${sha256(json)}\n${json}`, { mode: 0o600 });
    renameSync(temp, entry);
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // Not ours to remove either: /run is emptied at boot.
    }
  }
}
