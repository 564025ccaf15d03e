// FULL-NAT inbound (seed part 3): DNAT on the entering node, and SNAT to that node's own guest-bridge
// address, so the guest's reply comes back through the entering node. The guest sees the node.

import type { PlanBuilder } from '../../../../host/builder.ts';
import { counter, ct, eq, ifname, inSet, ip, lookup, meta, v4 } from '../../../../nft/tree.ts';
import { formatIPv4, formatPrefix } from '../../../../util/ipv4.ts';
import type { ClusterContext, ElementCache } from '../../compile/context.ts';
import { compileDnat } from '../../compile/dnat.ts';
import { NAT_POSTROUTING } from '../../compile/outbound.ts';
import { ipTable } from '../../compile/tables.ts';
import type { Node } from '../../model.ts';

export function compileFullnat(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  cache: ElementCache,
): void {
  if (!ctx.uses.fullnat) return;
  compileDnat(ctx, node, plan, cache, 'fullnat');
  const table = ipTable(ctx, node, plan);
  table.set({
    name: 'fullnat_source',
    comment: `networks.*.nodes.${node.name}: this node's address per guest subnet`,
    key: ['ipv4_addr'],
    value: ['ipv4_addr'],
    interval: true,
    // A router's networks have no full-NAT: their forwards are its plain DNAT (features/router).
    elements: ctx.anycast.map((n) => ({
      key: [v4(formatPrefix(n.subnet))],
      value: [v4(formatIPv4(n.nodeAddresses.get(node.name) as number))],
      comment: `networks.${n.name}.nodes.${node.name}`,
    })),
  });
  if (ctx.faults.has('fullnat-without-snat')) return;
  // Only flows this node DNATed from its uplink: with br_netfilter a node also sees flows that other
  // nodes full-NATed on their way to its guests, and must not SNAT them a second time.
  table.rule(
    NAT_POSTROUTING,
    `forwards (fullnat): guest answers ${node.name}`,
    eq(meta('iifname'), ifname(node.uplinkBridge)),
    inSet(meta('oifname'), 'guest_bridges'),
    eq(ct('status'), { type: 'ct_status', value: 'dnat' }),
    counter,
    { kind: 'nat', type: 'snat', to: lookup(ip('daddr'), 'fullnat_source') },
  );
}
