// Between two plans whose structure (tables, chains, rules, set declarations) is the same, the change
// is elements only: `delete element` / `add element` lines of one transaction, which leave rules,
// their counters and conntrack as they are. A changed map value is the old element deleted and the
// new one added in the same transaction. Elements compare as the text render gives them (its block
// is cached: the plan's ruleset file rendered it already), so 20,000 elements cost a string compare.
import { renderElements } from '../../nft/render.ts';
import type { Ruleset, Table } from '../../nft/tree.ts';
import { type Elements, keyOf, setId } from './elements.ts';

/** A table without its elements (nor the notes render writes as # lines: nft never sees them). */
function tableStructure(t: Table): string {
  const sets = t.sets.map(({ elements: _e, notes: _n, ...rest }) => rest);
  const chains = t.chains.map(({ notes: _n, ...rest }) => rest);
  return JSON.stringify({ ...t, sets, chains });
}

/** Each table's structure, by "family name". */
export function structureOf(ruleset: Ruleset): Record<string, string> {
  return Object.fromEntries(ruleset.tables.map((t) => [`${t.family} ${t.name}`, tableStructure(t)]));
}

/** The tables whose structure differs ("+ table inet convergent_routed", "~ table ip convergent"). */
export function structureChanges(from: Readonly<Record<string, string>>, to: Ruleset): string[] {
  const now = structureOf(to);
  const out: string[] = [];
  for (const [id, s] of Object.entries(now))
    if (from[id] !== s) out.push(`${id in from ? '~' : '+'} table ${id}`);
  for (const id of Object.keys(from)) if (!(id in now)) out.push(`- table ${id}`);
  return out;
}

/** A set as a plan gives it: its elements' block, and whether `nic up` adds to it. */
export interface PlannedSet {
  readonly elements: string;
  readonly map: boolean;
  readonly nic?: true;
}

/** Every static set of a plan by setId (dynamic ones are the ruleset's to fill). */
export function plannedSets(ruleset: Ruleset): Record<string, PlannedSet> {
  const out: Record<string, PlannedSet> = {};
  for (const t of ruleset.tables)
    for (const s of t.sets) {
      if (s.dynamic) continue;
      const nic = s.filledBy === 'nic' ? { nic: true as const } : {};
      out[setId(t.family, t.name, s.name)] = { elements: renderElements(s.elements), map: !!s.value, ...nic };
    }
  return out;
}

/** The elements of a rendered block: each line `\t\t\t<element>,`. */
export function blockElements(block: string): Elements {
  const out: Elements = new Map();
  for (const line of block.split('\n')) {
    const text = line.replace(/^\t+/, '').replace(/,$/, '');
    if (text !== '') out.set(keyOf(text), text);
  }
  return out;
}

/** One set's change: the elements to remove (their old text, by key) and to add. */
export interface SetDelta {
  readonly set: string;
  readonly remove: Elements;
  readonly add: readonly string[];
}

/** From the elements a set has to those it should have. */
export function setDelta(set: string, from: Elements, to: Elements): SetDelta {
  const remove: Elements = new Map();
  const add: string[] = [];
  for (const [key, text] of from) if (to.get(key) !== text) remove.set(key, text);
  for (const [key, text] of to) if (from.get(key) !== text) add.push(text);
  return { set, remove, add };
}

/** From the lines of two blocks: only the lines that differ are looked at. */
export function blockDelta(set: string, from: string, to: string): SetDelta {
  if (from === to) return { set, remove: new Map(), add: [] };
  const a = new Set(from.split('\n'));
  const b = new Set(to.split('\n'));
  const only = (x: Set<string>, y: Set<string>) => [...x].filter((l) => !y.has(l)).join('\n');
  return setDelta(set, blockElements(only(a, b)), blockElements(only(b, a)));
}

/** Per set of the plan, the change from the elements it has: `fromOf` gives them as a block or by key. */
export function elementDelta(
  plan: Readonly<Record<string, PlannedSet>>,
  fromOf: (id: string, set: PlannedSet) => string | Elements | undefined,
): SetDelta[] {
  const out: SetDelta[] = [];
  for (const [id, s] of Object.entries(plan)) {
    const from = fromOf(id, s) ?? '';
    const d =
      typeof from === 'string'
        ? blockDelta(id, from, s.elements)
        : setDelta(id, from, blockElements(s.elements));
    if (d.remove.size > 0 || d.add.length > 0) out.push(d);
  }
  return out;
}

/**
 * The transaction's lines. A removed element is first added with its old text, then deleted: nft
 * 1.0.6 has no "delete if present", and so a transaction run again (an apply killed halfway) does
 * the same. An element someone changed by hand makes nft refuse the whole transaction.
 */
export function deltaLines(deltas: readonly SetDelta[]): string[] {
  const lines: string[] = [];
  for (const d of deltas) {
    if (d.remove.size === 0) continue;
    lines.push(`add element ${d.set} { ${[...d.remove.values()].join(', ')} }`);
    lines.push(`delete element ${d.set} { ${[...d.remove.keys()].join(', ')} }`);
  }
  for (const d of deltas) if (d.add.length > 0) lines.push(`add element ${d.set} { ${d.add.join(', ')} }`);
  return lines;
}

/** "ip convergent fullnat_forwards +1 -0, ...". */
export function deltaDetail(deltas: readonly SetDelta[]): string {
  const table = (d: SetDelta) => d.set.split(' ').slice(0, 2).join(' ');
  // The change's `what` names the tables: a set by its own name when they are all of one table.
  const one = new Set(deltas.map(table)).size === 1;
  const name = (d: SetDelta) => (one ? d.set.split(' ').slice(2).join(' ') : d.set);
  const added = deltas.reduce((n, d) => n + d.add.length, 0);
  const removed = deltas.reduce((n, d) => n + d.remove.size, 0);
  const sets = deltas.map((d) => `${name(d)} +${d.add.length} -${d.remove.size}`).join(', ');
  return `+${added} -${removed} elements: ${sets}`;
}
