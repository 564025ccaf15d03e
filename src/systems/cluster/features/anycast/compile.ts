// The anycast gateway (seed parts 1-4): the same gateway address on every node's guest bridge. ARP
// for it must never cross the cluster pipes, so a guest always resolves it to its own node.

import type { PlanBuilder } from '../../../../host/builder.ts';
import { arp, counter, inSet, PRIORITY } from '../../../../nft/tree.ts';
import type { ClusterContext } from '../../compile/context.ts';
import { netdevTable, pipeDevices } from '../../compile/tables.ts';
import type { Node } from '../../model.ts';

export const PIPE_EGRESS = 'pipe-egress';

export function compileAnycast(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  // Not on a router's pipes (seed 004): its gateway is on that node alone, reached by ARP over them.
  const devices = pipeDevices(ctx, node);
  if (devices.length === 0 || ctx.faults.has('anycast-arp-leak')) return;
  const table = netdevTable(ctx, node, plan);
  table.set({
    name: 'anycast_gateways',
    comment: 'networks.*.gateway',
    key: ['ipv4_addr'],
    interval: false,
    elements: ctx.elements.anycastGateways,
  });
  table.chain(
    PIPE_EGRESS,
    'keep ARP for the anycast gateways on this node',
    { type: 'filter', hook: 'egress', priority: PRIORITY.raw - 200, devices, policy: 'accept' },
    [
      "Egress of the pipes, last before the wire: a guest's ARP request for the gateway is answered",
      'by its own node only, and no node announces the gateway to the others.',
    ],
  );
  const directions = [
    ['saddr ip', 'from'],
    ['daddr ip', 'for'],
  ] as const;
  for (const [field, word] of directions) {
    table.rule(
      PIPE_EGRESS,
      `networks.*.gateway: no ARP ${word} the anycast gateway`,
      inSet(arp(field), 'anycast_gateways'),
      counter,
      { kind: 'verdict', verdict: 'drop' },
    );
  }
}
