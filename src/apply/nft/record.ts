// What the last apply loaded, kept in the state dir's applied.json: the plan's tree as its structure
// and its elements' text (the next plan's element delta is computed from it, without listing the
// host's elements), and the normalized terse listing of convergent's tables right after the load (a
// later listing that differs is drift). Written after a successful apply only.
import { partRecord, writePartRecord } from '../state.ts';
import type { PlannedSet } from './delta.ts';
import type { LiveTable } from './read.ts';

/** Its name in applied.json's `parts`. */
export const RECORD_PART = 'nftables';

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

/** None when there is no record, or not one of this shape (an older convergent's): the tables are replaced. */
export function readNftRecord(stateDir: string): NftRecord | undefined {
  const record = partRecord<NftRecord>(stateDir, RECORD_PART);
  return Array.isArray(record?.tables) ? record : undefined;
}

/** In applied.json (state.ts: written whole or not at all), beside the other parts' records. */
export function writeNftRecord(stateDir: string, record: NftRecord): void {
  writePartRecord(stateDir, RECORD_PART, record);
}
