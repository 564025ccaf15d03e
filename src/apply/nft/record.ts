// What the last apply loaded, kept in the state dir: the plan's tree as its structure and its
// elements' text (the next plan's element delta is computed from it, without listing the host's
// elements), and the normalized terse listing of convergent's tables right after the load (a later
// listing that differs is drift). Written after a successful apply only; a record that cannot be
// read is no record: the next apply replaces the tables.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlannedSet } from './delta.ts';
import type { LiveTable } from './read.ts';

export const RECORD_FILE = 'nftables.json';

/** The plan the last apply loaded, as the next one compares with it. */
export interface RecordedPlan {
  /** Each table's structure: the tree without its elements (delta.ts structureOf). */
  readonly structure: Readonly<Record<string, string>>;
  /** Each static set's elements as render wrote them, by setId. */
  readonly sets: Readonly<Record<string, PlannedSet>>;
}

export interface NftRecord {
  /** None when the last apply loaded a checkpoint's saved text (a rollback). */
  readonly plan?: RecordedPlan;
  /** convergent's tables as the listing gave them right after the load. */
  readonly tables: readonly Pick<LiveTable, 'family' | 'name' | 'structure'>[];
}

export function readNftRecord(stateDir: string): NftRecord | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, RECORD_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as NftRecord;
    return Array.isArray(record.tables) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all (temp + rename): a half-written record would pass for the truth. */
export function writeNftRecord(stateDir: string, record: NftRecord): void {
  mkdirSync(stateDir, { recursive: true });
  const temp = join(stateDir, `${RECORD_FILE}.new`);
  writeFileSync(temp, JSON.stringify(record));
  renameSync(temp, join(stateDir, RECORD_FILE));
}
