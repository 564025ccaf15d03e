// The tables convergent owns on a node (one per family, all named "convergent"). Nothing else on the host is touched: render replaces
// exactly these tables, in one transaction.

import type { PlanBuilder, TableDraft } from '../../../host/builder.ts';
import type { Node } from '../model.ts';
import type { ClusterContext } from './context.ts';

export function ipTable(ctx: ClusterContext, node: Node, plan: PlanBuilder): TableDraft {
  return plan.table('ip', `convergent: cluster ${ctx.cluster.name}, node ${node.name}`);
}

export function netdevTable(ctx: ClusterContext, node: Node, plan: PlanBuilder): TableDraft {
  return plan.table('netdev', `convergent: cluster ${ctx.cluster.name}, node ${node.name}, cluster pipes`);
}

export function bridgeTable(ctx: ClusterContext, node: Node, plan: PlanBuilder): TableDraft {
  return plan.table('bridge', `convergent: cluster ${ctx.cluster.name}, node ${node.name}, bridge ports`);
}

/**
 * The node's pipe interfaces of anycast networks, the devices of its netdev chains: a network with a
 * router (seed 004) is bridged by the other nodes, its gateway's ARP must cross, and no strategy tags it.
 */
export function pipeDevices(ctx: ClusterContext, node: Node): string[] {
  const anycast = new Set(ctx.anycast);
  return (ctx.pipesByNode.get(node.name) ?? []).filter((p) => anycast.has(p.network)).map((p) => p.ifname);
}
