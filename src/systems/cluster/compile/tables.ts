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

/** The node's pipe interfaces, the devices of its netdev chains. */
export function pipeDevices(ctx: ClusterContext, node: Node): string[] {
  return (ctx.pipesByNode.get(node.name) ?? []).map((p) => p.ifname);
}
