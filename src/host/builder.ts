// Collects what the feature modules contribute to one node's plan, then freezes it into a HostPlan.
// Features add tables, sets, chains and rules by name; order of addition is the order rendered.

import type { BaseChain, Chain, Family, NamedSet, Rule, Statement, Table } from '../nft/tree.ts';
import type {
  AddressPlan,
  BridgePlan,
  ConntrackdPlan,
  HostPlan,
  ProxyPlan,
  RoutePlan,
  SysctlPlan,
} from './plan.ts';

interface ChainDraft {
  name: string;
  comment: string;
  notes?: readonly string[];
  base?: BaseChain;
  rules: Rule[];
}

class TableDraft {
  readonly sets = new Map<string, NamedSet>();
  readonly chains = new Map<string, ChainDraft>();
  readonly family: Family;
  readonly name: string;
  readonly comment: string;
  constructor(family: Family, name: string, comment: string) {
    this.family = family;
    this.name = name;
    this.comment = comment;
  }

  set(set: NamedSet): void {
    if (this.sets.has(set.name))
      throw new Error(`compile: set ${set.name} defined twice in ${this.family} ${this.name}`);
    this.sets.set(set.name, set);
  }

  chain(name: string, comment: string, base?: BaseChain, notes?: readonly string[]): void {
    if (this.chains.has(name))
      throw new Error(`compile: chain ${name} defined twice in ${this.family} ${this.name}`);
    this.chains.set(name, { name, comment, base, notes, rules: [] });
  }

  rule(chain: string, comment: string, ...statements: Statement[]): void {
    const draft = this.chains.get(chain);
    if (!draft) throw new Error(`compile: rule for unknown chain ${chain} in ${this.family} ${this.name}`);
    draft.rules.push({ statements, comment });
  }

  freeze(): Table {
    return {
      family: this.family,
      name: this.name,
      comment: this.comment,
      sets: [...this.sets.values()],
      chains: [...this.chains.values()].map((c): Chain => ({ ...c, rules: [...c.rules] })),
    };
  }
}

export type { TableDraft };

export class PlanBuilder {
  readonly bridges: BridgePlan[] = [];
  readonly addresses: AddressPlan[] = [];
  readonly routes: RoutePlan[] = [];
  readonly sysctls: SysctlPlan[] = [];
  readonly modules: { name: string; source: string }[] = [];
  readonly proxies: ProxyPlan[] = [];
  conntrackd?: ConntrackdPlan;
  readonly #tables = new Map<string, TableDraft>();

  readonly cluster: string;
  readonly node: string;
  constructor(cluster: string, node: string) {
    this.cluster = cluster;
    this.node = node;
  }

  /** The table of this family owned by convergent, created on first use. */
  table(family: Family, comment: string): TableDraft {
    let table = this.#tables.get(family);
    if (!table) {
      table = new TableDraft(family, 'convergent', comment);
      this.#tables.set(family, table);
    }
    return table;
  }

  sysctl(key: readonly string[], value: string, source: string, optional?: boolean): void {
    if (!this.sysctls.some((s) => s.key.join('/') === key.join('/')))
      this.sysctls.push(optional ? { key, value, source, optional } : { key, value, source });
  }

  module(name: string, source: string): void {
    if (!this.modules.some((m) => m.name === name)) this.modules.push({ name, source });
  }

  freeze(faults: readonly string[] = []): HostPlan {
    return {
      cluster: this.cluster,
      faults,
      node: this.node,
      bridges: this.bridges,
      addresses: this.addresses,
      routes: this.routes,
      sysctls: this.sysctls,
      modules: this.modules,
      proxies: this.proxies,
      ...(this.conntrackd ? { conntrackd: this.conntrackd } : {}),
      ruleset: { tables: [...this.#tables.values()].map((t) => t.freeze()) },
    };
  }
}
