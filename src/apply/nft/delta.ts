// Between two trees whose structure (tables, chains, rules, set declarations) is the same, the change
// is elements only: `delete element` / `add element` lines of one transaction, which leave rules,
// their counters and conntrack as they are. A changed map value is the old element deleted and the
// new one added in the same transaction.
import type { NamedSet, Ruleset, Table } from '../../nft/tree.ts';
import { type Elements, elementsOf, setId, setsOf } from './elements.ts';

/** A table without its elements (nor the notes render writes as # lines: nft never sees them). */
function tableStructure(t: Table): string {
  const sets = t.sets.map(({ elements: _e, notes: _n, ...rest }) => rest);
  const chains = t.chains.map(({ notes: _n, ...rest }) => rest);
  return JSON.stringify({ ...t, sets, chains });
}

/** Each table's structure, by "family name". */
export function structureOf(ruleset: Ruleset): Map<string, string> {
  return new Map(ruleset.tables.map((t) => [`${t.family} ${t.name}`, tableStructure(t)]));
}

/** The tables whose structure differs between two trees ("+ inet convergent_routed", "~ ip convergent"). */
export function structureChanges(from: Ruleset, to: Ruleset): string[] {
  const a = structureOf(from);
  const b = structureOf(to);
  const out: string[] = [];
  for (const [id, s] of b) if (a.get(id) !== s) out.push(`${a.has(id) ? '~' : '+'} table ${id}`);
  for (const id of a.keys()) if (!b.has(id)) out.push(`- table ${id}`);
  return out;
}

/** One set's change: the elements to remove (their old text, by key) and to add. */
export interface SetDelta {
  readonly family: string;
  readonly table: string;
  readonly set: string;
  readonly remove: Elements;
  readonly add: readonly string[];
}

/** From the elements a set has (`from`) to the plan's (`to`). */
export function setDelta(ref: Omit<SetDelta, 'remove' | 'add'>, from: Elements, to: Elements): SetDelta {
  const remove: Elements = new Map();
  const add: string[] = [];
  for (const [key, text] of from) if (to.get(key) !== text) remove.set(key, text);
  for (const [key, text] of to) if (from.get(key) !== text) add.push(text);
  return { ...ref, remove, add };
}

/** Per set of `to`, the change from `from`'s elements of it (the record's tree, or the live ones). */
export function elementDelta(
  to: Ruleset,
  fromOf: (id: string, set: NamedSet) => Elements | undefined,
): SetDelta[] {
  const out: SetDelta[] = [];
  for (const t of to.tables)
    for (const s of t.sets) {
      if (s.dynamic) continue; // the ruleset fills it, not the plan
      const from = fromOf(setId(t.family, t.name, s.name), s) ?? new Map();
      const d = setDelta({ family: t.family, table: t.name, set: s.name }, from, elementsOf(s.elements));
      if (d.remove.size > 0 || d.add.length > 0) out.push(d);
    }
  return out;
}

/** The record's tree as the `from` of elementDelta. */
export const fromTree = (tree: Ruleset) => {
  const sets = setsOf(tree);
  return (id: string) => {
    const s = sets.get(id);
    return s ? elementsOf(s.elements) : undefined;
  };
};

/**
 * The transaction's lines. A removed element is first added with its old text, then deleted: nft
 * 1.0.6 has no "delete if present", and so a transaction run again (an apply killed halfway) does
 * the same. An element someone changed by hand makes nft refuse the whole transaction.
 */
export function deltaLines(deltas: readonly SetDelta[]): string[] {
  const where = (d: SetDelta) => `${d.family} ${d.table} ${d.set}`;
  const lines: string[] = [];
  for (const d of deltas) {
    if (d.remove.size === 0) continue;
    lines.push(`add element ${where(d)} { ${[...d.remove.values()].join(', ')} }`);
    lines.push(`delete element ${where(d)} { ${[...d.remove.keys()].join(', ')} }`);
  }
  for (const d of deltas) if (d.add.length > 0) lines.push(`add element ${where(d)} { ${d.add.join(', ')} }`);
  return lines;
}

/** "map fullnat_forwards +1 -0, set floating +0 -2". */
export function deltaDetail(deltas: readonly SetDelta[]): string {
  return deltas.map((d) => `${d.table} ${d.set} +${d.add.length} -${d.remove.size}`).join(', ');
}
