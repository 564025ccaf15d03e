// Drift: convergent's tables changed on the host since the last apply loaded them (a rule deleted by
// hand, a chain added, a table gone). Found by comparing the terse listing, normalized, with the
// record's: no element is listed, so it costs the same at 20 elements or 20,000. Elements changed by
// hand are found by diff's full comparison (part.ts, `elements`), or by nft refusing the delta.
import type { LiveTable } from './read.ts';
import { tableId } from './read.ts';
import type { NftRecord } from './record.ts';

/** What differs, per table: "- table ip convergent" (gone), "+ ..." (new), "~ ..." (changed). */
export function driftOf(record: NftRecord, live: readonly LiveTable[]): string[] {
  const recorded = new Map(record.tables.map((t) => [tableId(t), t.structure]));
  const out: string[] = [];
  for (const t of live) {
    const was = recorded.get(tableId(t));
    if (was === undefined) out.push(`+ table ${tableId(t)}`);
    else if (was !== t.structure) out.push(`~ table ${tableId(t)}`);
  }
  const now = new Set(live.map(tableId));
  for (const id of recorded.keys()) if (!now.has(id)) out.push(`- table ${id}`);
  return out;
}
