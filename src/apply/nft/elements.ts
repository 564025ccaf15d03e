// Set and map elements as nft lists them in JSON, turned into the text our own rendering gives
// (src/nft/render.ts: `tcp . 2201 comment "forwards[2]" : 10.5.5.201 . 22`), so the live elements
// and the plan's compare as strings. The declared types say how a value is written (an ifname is
// quoted, a mark is 0x%08x), as render does from the tree's typed constants.
import type { Runner } from '../../lab/run.ts';
import { renderElement, renderElementKey } from '../../nft/render.ts';
import type { Element } from '../../nft/tree.ts';
import { nftRead } from './read.ts';

/** A set's elements by key (what `delete element` names): the whole of each (what `add element` takes). */
export type Elements = Map<string, string>;

/** "ip convergent fullnat_forwards": a set across the tables. */
export const setId = (family: string, table: string, set: string) => `${family} ${table} ${set}`;

export const elementsOf = (elements: readonly Element[]): Elements =>
  new Map(elements.map((e) => [renderElementKey(e), renderElement(e)]));

/** An element's key in its text: what comes before its comment or its value (keys have neither). */
export function keyOf(text: string): string {
  const comment = text.indexOf(' comment "');
  if (comment >= 0) return text.slice(0, comment);
  const value = text.indexOf(' : ');
  return value >= 0 ? text.slice(0, value) : text;
}

const typesOf = (declared: unknown): string[] =>
  (Array.isArray(declared) ? declared.map(String) : String(declared ?? '').split(' . ')).map((t) =>
    t.replace(/^interval /, ''),
  );

/** One value of the listing as render writes a constant of its type. */
function valueText(v: unknown, type: string): string {
  if (typeof v === 'number') {
    return type === 'mark' ? `0x${v.toString(16).padStart(8, '0')}` : String(v);
  }
  if (typeof v === 'string') return type === 'ifname' ? `"${v}"` : v;
  if (v === null || typeof v !== 'object') return String(v);
  const o = v as Record<string, unknown>;
  const prefix = o.prefix as { addr?: unknown; len?: unknown } | undefined;
  if (prefix) return `${valueText(prefix.addr, type)}/${String(prefix.len)}`;
  const range = o.range as unknown[] | undefined;
  if (Array.isArray(range)) return range.map((x) => valueText(x, type)).join('-');
  for (const verdict of ['jump', 'goto'])
    if (o[verdict] !== undefined) return `${verdict} ${String((o[verdict] as { target?: unknown }).target)}`;
  const [bare] = Object.keys(o);
  return bare ?? '';
}

/** A key or value: one typed value, or a concatenation of them. */
function partsText(v: unknown, types: readonly string[]): string {
  const concat = (v as { concat?: unknown[] } | null)?.concat;
  const parts = Array.isArray(concat) ? concat : [v];
  return parts.map((p, i) => valueText(p, types[i] ?? types[0] ?? '')).join(' . ');
}

interface ListedSet {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly type?: unknown;
  readonly map?: unknown;
  readonly elem?: readonly unknown[];
}

/** The elements of one listed set or map, in our text. */
function listedElements(set: ListedSet): Elements {
  const keyTypes = typesOf(set.type);
  const valueTypes = typesOf(set.map);
  const out: Elements = new Map();
  for (const raw of set.elem ?? []) {
    const [k, value] = set.map !== undefined && Array.isArray(raw) ? raw : [raw, undefined];
    // A key with a comment (or a timeout) is wrapped: { elem: { val, comment } }.
    const wrapped = (k as { elem?: { val?: unknown; comment?: unknown } } | null)?.elem;
    const key = partsText(wrapped ? wrapped.val : k, keyTypes);
    const comment = typeof wrapped?.comment === 'string' ? ` comment "${wrapped.comment}"` : '';
    const data = value === undefined ? '' : ` : ${partsText(value, valueTypes)}`;
    out.set(key, `${key}${comment}${data}`);
  }
  return out;
}

/** Every set's elements in one listing (`nft -j list table|set|map`), by setId. */
export function elementsOfListing(json: string): Map<string, Elements> {
  const out = new Map<string, Elements>();
  for (const item of (JSON.parse(json) as { nftables: Record<string, ListedSet>[] }).nftables) {
    const set = item.set ?? item.map;
    if (set) out.set(setId(set.family, set.table, set.name), listedElements(set));
  }
  return out;
}

/** Every element of a table (slow on a large table: diff's full comparison, never apply's element path). */
export function readTableElements(run: Runner, family: string, table: string): Map<string, Elements> {
  return elementsOfListing(nftRead(run, ['-j', 'list', 'table', family, table]));
}

/** One set's or map's live elements. */
export function readSetElements(
  run: Runner,
  ref: { family: string; table: string; set: string; map: boolean },
): Elements {
  const json = nftRead(run, ['-j', 'list', ref.map ? 'map' : 'set', ref.family, ref.table, ref.set]);
  return elementsOfListing(json).get(setId(ref.family, ref.table, ref.set)) ?? new Map();
}
