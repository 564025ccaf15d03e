// The full replace: one transaction that recreates each of convergent's tables (`table X`, `delete
// table X`, its text), deletes the convergent tables the new state no longer has, and puts back the
// live elements of the sets `nic up` fills: a structural apply never unplugs a guest. Nothing outside
// convergent's tables is named, and never `flush ruleset`.
import type { Runner } from '../../lab/run.ts';
import type { DesiredNft, TableRef } from '../desired.ts';
import { blockElements, type PlannedSet, plannedSets } from './delta.ts';
import { readSetElements } from './elements.ts';
import { type LiveTable, tableId } from './read.ts';

/** A set whose live elements a replace keeps. */
export interface KeptSet {
  readonly family: string;
  readonly table: string;
  readonly set: string;
  readonly map: boolean;
  /**
   * Keys that are not `nic up`'s: the new plan's own elements (they win over a live one of the same
   * key) and the last plan's (one the new plan dropped must go, not be kept as a tap's).
   */
  readonly planned: ReadonlySet<string>;
}

/** The tables the new state has. */
export function tablesOfDesired(nft: DesiredNft): TableRef[] {
  return nft.kind === 'plan'
    ? nft.ruleset.tables.map((t) => ({ family: t.family, name: t.name }))
    : [...nft.tables];
}

/**
 * The `nic up` sets of the new state that the host has now. A plan says which they are; a saved
 * checkpoint's text does not, so the plan of the last apply (the record's) says it then.
 */
export function keptSets(
  nft: DesiredNft,
  recorded: Readonly<Record<string, PlannedSet>> | undefined,
  live: readonly LiveTable[],
): KeptSet[] {
  const sets = nft.kind === 'plan' ? plannedSets(nft.ruleset) : (recorded ?? {});
  const wanted = new Set(tablesOfDesired(nft).map(tableId));
  const out: KeptSet[] = [];
  for (const [id, s] of Object.entries(sets)) {
    const [family = '', table = '', set = ''] = id.split(' ');
    const liveTable = live.find((l) => l.family === family && l.name === table);
    if (!s.nic || !wanted.has(`${family} ${table}`) || !liveTable?.sets.some((x) => x.name === set)) continue;
    const own = nft.kind === 'plan' ? [...blockElements(s.elements).keys()] : [];
    const was = blockElements(recorded?.[id]?.elements ?? '').keys();
    out.push({ family, table, set, map: s.map, planned: new Set([...own, ...was]) });
  }
  return out;
}

/** `add element` lines for the kept sets' live elements (read now, one listing per set). */
export function keptLines(run: Runner, sets: readonly KeptSet[]): string[] {
  const lines: string[] = [];
  for (const s of sets) {
    const live = readSetElements(run, s);
    const extra = [...live].filter(([key]) => !s.planned.has(key)).map(([, text]) => text);
    if (extra.length > 0) lines.push(`add element ${s.family} ${s.table} ${s.set} { ${extra.join(', ')} }`);
  }
  return lines;
}

/** The whole transaction's text. */
export function replaceText(nft: DesiredNft, live: readonly LiveTable[], kept: readonly string[]): string {
  const wanted = tablesOfDesired(nft);
  const ids = new Set(wanted.map(tableId));
  const stale = live.filter((t) => !ids.has(tableId(t))).map((t) => `delete table ${tableId(t)}`);
  // A plan's text recreates each table itself (render.ts); a saved listing only defines them.
  const recreate =
    nft.kind === 'plan' ? [] : wanted.flatMap((t) => [`table ${tableId(t)}`, `delete table ${tableId(t)}`]);
  return [...stale, ...recreate, nft.text, ...kept, ''].join('\n');
}
