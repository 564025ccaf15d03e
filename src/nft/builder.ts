// Builds rulesets for every system: tables, sets, chains and rules added by name, in the order they
// are rendered. A name defined twice is refused when it is added; the rest of the tree (references,
// limits, element types) is linted when the ruleset is frozen, so no system hands render a tree nft
// would refuse. Each object remembers the part of the system that added it, for the errors.

import { lintRuleset, NftLintError } from './lint.ts';
import type { BaseChain, Chain, Family, NamedSet, Rule, Ruleset, Statement, Table } from './tree.ts';

interface ChainDraft {
  name: string;
  comment: string;
  notes?: readonly string[];
  base?: BaseChain;
  rules: Rule[];
}

/** What every table of one ruleset shares: who is building (for errors) and where each object came from. */
interface Origins {
  /** The part (a feature, a group of CGNAT rules) adding objects now, while RulesetBuilder.by runs. */
  current?: string;
  readonly of: WeakMap<object, string>;
}

export class TableBuilder {
  readonly #sets = new Map<string, NamedSet>();
  readonly #chains = new Map<string, ChainDraft>();
  readonly #origins: Origins;
  readonly #system: string;
  readonly family: Family;
  readonly name: string;
  readonly comment: string;
  constructor(family: Family, name: string, comment: string, system: string, origins: Origins) {
    this.family = family;
    this.name = name;
    this.comment = comment;
    this.#system = system;
    this.#origins = origins;
  }

  set(set: NamedSet): void {
    if (this.#sets.has(set.name)) this.#twice('set', set.name);
    this.#sets.set(set.name, set);
    this.#remember(set);
  }

  chain(name: string, comment: string, base?: BaseChain, notes?: readonly string[]): void {
    if (this.#chains.has(name)) this.#twice('chain', name);
    const draft: ChainDraft = { name, comment, base, notes, rules: [] };
    this.#chains.set(name, draft);
    this.#remember(draft);
  }

  rule(chain: string, comment: string, ...statements: Statement[]): void {
    const draft = this.#chains.get(chain);
    if (!draft)
      throw new NftLintError(
        'missing-chain',
        `${this.#where()}: rule ${JSON.stringify(comment)} for chain ${chain}, which is not defined in ${this.family} ${this.name}`,
      );
    const rule: Rule = { statements, comment };
    draft.rules.push(rule);
    this.#remember(rule);
  }

  /** The table as data; chains keep the origin of their drafts. */
  freeze(): Table {
    const chains = [...this.#chains.values()].map((c): Chain => {
      const chain = { ...c, rules: [...c.rules] };
      const origin = this.#origins.of.get(c);
      if (origin !== undefined) this.#origins.of.set(chain, origin);
      return chain;
    });
    return {
      family: this.family,
      name: this.name,
      comment: this.comment,
      sets: [...this.#sets.values()],
      chains,
    };
  }

  #remember(o: object): void {
    if (this.#origins.current !== undefined) this.#origins.of.set(o, this.#origins.current);
  }

  #where(): string {
    const part = this.#origins.current;
    return part === undefined ? this.#system : `${this.#system} (${part})`;
  }

  #twice(what: 'set' | 'chain', name: string): never {
    throw new NftLintError(
      'duplicate-name',
      `${this.#where()}: ${what} ${name} defined twice in ${this.family} ${this.name}`,
    );
  }
}

/** One system's ruleset (a cluster node's, the CGNAT router's): tables by family and name. */
export class RulesetBuilder {
  readonly #tables = new Map<string, TableBuilder>();
  readonly #origins: Origins = { of: new WeakMap() };
  /** Names the ruleset in errors: "cluster demo, node node1", "CGNAT demo". */
  readonly system: string;
  constructor(system: string) {
    this.system = system;
  }

  /** The table of that family and name, created (with this comment) on first use. */
  table(family: Family, name: string, comment: string): TableBuilder {
    const id = `${family} ${name}`;
    let table = this.#tables.get(id);
    if (!table) {
      table = new TableBuilder(family, name, comment, this.system, this.#origins);
      this.#tables.set(id, table);
    }
    return table;
  }

  /** Runs `add` with `part` (a feature's name) as the origin of what it adds, for the lint's errors. */
  by<T>(part: string, add: () => T): T {
    const outer = this.#origins.current;
    this.#origins.current = part;
    try {
      return add();
    } finally {
      this.#origins.current = outer;
    }
  }

  /** The ruleset as data, linted: a reference, a name, a comment or an element nft would refuse throws. */
  freeze(): Ruleset {
    const ruleset = { tables: [...this.#tables.values()].map((t) => t.freeze()) };
    const origins = this.#origins.of;
    lintRuleset(ruleset, { system: this.system, originOf: (o) => origins.get(o) });
    return ruleset;
  }
}
