// convergent's tables as the host has them, from `nft -j -t list ruleset`: terse, so no set's
// elements are listed (the listing costs the same at 20 elements or 20,000). Normalized so that two
// listings of the same load compare equal: no handles, counters at zero. Tables of anyone else are
// dropped here, so no later step can see (or touch) them.
import type { Runner } from '../../lab/run.ts';
import type { TableRef } from '../desired.ts';

/** convergent's own: `convergent` or `convergent_*`, in any family. */
export const isOwned = (name: string) => name === 'convergent' || name.startsWith('convergent_');

export const tableId = (t: TableRef) => `${t.family} ${t.name}`;

/** A set or map as the listing declares it. */
export interface LiveSet {
  readonly name: string;
  readonly map: boolean;
}

export interface LiveTable extends TableRef {
  /** The table's normalized terse listing: what the record keeps to find drift. */
  readonly structure: string;
  readonly sets: readonly LiveSet[];
}

type Item = Record<string, Record<string, unknown>>;

/** The owned tables of a `nft -j` listing, in its order, each with its items (table, sets, chains, rules). */
function ownedItems(json: string): Map<string, { ref: TableRef; items: Item[] }> {
  const tables = new Map<string, { ref: TableRef; items: Item[] }>();
  for (const item of (JSON.parse(json) as { nftables: Item[] }).nftables) {
    const [kind, body] = Object.entries(item)[0] ?? [];
    if (kind === undefined || body === undefined || kind === 'metainfo') continue;
    const name = String(kind === 'table' ? body.name : body.table);
    if (!isOwned(name)) continue;
    const ref = { family: String(body.family), name };
    const id = tableId(ref);
    const table = tables.get(id) ?? { ref, items: [] };
    tables.set(id, table);
    table.items.push(item);
  }
  return tables;
}

/** Handles dropped (they change with every load), counters zeroed (they change with every packet). */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'handle') continue;
    out[k] = k === 'counter' && x !== null && typeof x === 'object' ? { packets: 0, bytes: 0 } : normalize(x);
  }
  return out;
}

/** Parses a terse listing into convergent's tables (exported for tests of the normalization). */
export function liveTablesOf(json: string): LiveTable[] {
  return [...ownedItems(json).values()].map(({ ref, items }) => ({
    ...ref,
    structure: JSON.stringify(items.map(normalize)),
    sets: items.flatMap((item) => {
      const set = item.set ?? item.map;
      return set === undefined ? [] : [{ name: String(set.name), map: item.map !== undefined }];
    }),
  }));
}

/** Runs a read-only nft command; a failure is the operator's to see, with nft's own words. */
export function nftRead(run: Runner, argv: readonly string[]): string {
  const r = run(['nft', ...argv]);
  if (r.code !== 0) throw new Error(`nft ${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** convergent's tables on the host, structure only (~0 ms whatever the elements). */
export function readLiveTables(run: Runner): LiveTable[] {
  return liveTablesOf(nftRead(run, ['-j', '-t', 'list', 'ruleset']));
}
