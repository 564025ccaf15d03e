// Collects what the feature modules contribute to one node's plan, then freezes it into a HostPlan.
// Features add tables, sets, chains and rules by name through the shared nft builder (src/nft); order
// of addition is the order rendered.

import { RulesetBuilder, type TableBuilder } from '../nft/builder.ts';
import type { Family } from '../nft/tree.ts';
import type {
  AddressPlan,
  BridgePlan,
  ConntrackdPlan,
  FaultDescriptions,
  HostPlan,
  LinkPlan,
  ProxyPlan,
  RoutePlan,
  RouterAdvertisementsPlan,
  RoutingTablePlan,
  RulePlan,
  SysctlPlan,
} from './plan.ts';

/** A table's builder, as the cluster's compile code has called it. */
export type TableDraft = TableBuilder;

export class PlanBuilder {
  readonly links: LinkPlan[] = [];
  readonly bridges: BridgePlan[] = [];
  readonly addresses: AddressPlan[] = [];
  readonly routes: RoutePlan[] = [];
  readonly rules: RulePlan[] = [];
  readonly tables: RoutingTablePlan[] = [];
  readonly sysctls: SysctlPlan[] = [];
  readonly modules: { name: string; source: string }[] = [];
  readonly proxies: ProxyPlan[] = [];
  conntrackd?: ConntrackdPlan;
  routerAdvertisements?: RouterAdvertisementsPlan;
  readonly #nft: RulesetBuilder;

  readonly cluster: string;
  readonly node: string;
  constructor(cluster: string, node: string) {
    this.cluster = cluster;
    this.node = node;
    this.#nft = new RulesetBuilder(`cluster ${cluster}, node ${node}`);
  }

  /** The table of this family owned by convergent (or by one of its parts, by `name`), created on first use. */
  table(family: Family, comment: string, name = 'convergent'): TableBuilder {
    return this.#nft.table(family, name, comment);
  }

  /** Runs `add` with `feature` named as the origin of the nft objects it adds (in lint errors). */
  by<T>(feature: string, add: () => T): T {
    return this.#nft.by(feature, add);
  }

  sysctl(key: readonly string[], value: string, source: string, optional?: boolean): void {
    if (!this.sysctls.some((s) => s.key.join('/') === key.join('/')))
      this.sysctls.push(optional ? { key, value, source, optional } : { key, value, source });
  }

  module(name: string, source: string): void {
    if (!this.modules.some((m) => m.name === name)) this.modules.push({ name, source });
  }

  /** The plan, with the faults compiled in (by name, with their descriptions). */
  freeze(faults: FaultDescriptions = {}): HostPlan {
    return {
      cluster: this.cluster,
      faults: Object.keys(faults),
      faultDescriptions: faults,
      node: this.node,
      links: this.links,
      bridges: this.bridges,
      addresses: this.addresses,
      routes: this.routes,
      rules: this.rules,
      tables: this.tables,
      sysctls: this.sysctls,
      modules: this.modules,
      proxies: this.proxies,
      ...(this.conntrackd ? { conntrackd: this.conntrackd } : {}),
      ...(this.routerAdvertisements ? { routerAdvertisements: this.routerAdvertisements } : {}),
      ruleset: this.#nft.freeze(),
    };
  }
}
