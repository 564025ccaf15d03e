// Convergent outbound (seed parts 1, 2, 4): guests leave through their own node, SNATed statefully to
// that node's public address. Also declares the sets the other features share.

import type { PlanBuilder } from '../../../host/builder.ts';
import { counter, eq, ifname, inSet, ip, meta, PRIORITY, v4 } from '../../../nft/tree.ts';
import { formatIPv4, formatPrefix } from '../../../util/ipv4.ts';
import type { Node } from '../model.ts';
import type { ClusterContext } from './context.ts';
import { ipTable } from './tables.ts';

export const NAT_POSTROUTING = 'nat-postrouting';

export function compileOutbound(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  // Bridged and private networks are not the node's to route or NAT: their gateway is upstream.
  // Routed networks neither, but on their router node (F26).
  const routed = ctx.cluster.routed.filter((n) => n.router === node.name);
  if (ctx.cluster.networks.length === 0 && routed.length === 0) return;
  const table = ipTable(ctx, node, plan);
  // A router's networks (seed 004) are NATed by their router alone (features/router).
  const anycast = ctx.anycast.length > 0;
  if (anycast) {
    table.set({
      name: 'guest_subnets',
      comment: 'networks.*.subnet',
      key: ['ipv4_addr'],
      interval: true,
      elements: ctx.elements.guestSubnets,
    });
    table.set({
      name: 'guest_bridges',
      comment: 'networks.*.bridge',
      key: ['ifname'],
      interval: false,
      elements: ctx.elements.guestBridges,
    });
  }
  table.chain(
    NAT_POSTROUTING,
    ctx.uses.fullnat ? 'source NAT: outbound guests, full-NAT inbound' : 'source NAT: outbound guests',
    {
      type: 'nat',
      hook: 'postrouting',
      priority: PRIORITY.srcnat,
      policy: 'accept',
    },
    ['Consulted for the first packet of a connection only; later packets follow its conntrack binding.'],
  );
  const out = eq(meta('oifname'), ifname(node.uplinkBridge));
  const asNode = {
    kind: 'nat',
    type: 'snat',
    to: { kind: 'const', value: v4(formatIPv4(node.address)) },
  } as const;
  if (anycast)
    table.rule(
      NAT_POSTROUTING,
      `nodes.${node.name}.address: guests leave as their own node`,
      out,
      inSet(ip('saddr'), 'guest_subnets'),
      counter,
      asNode,
    );
  // The router's masquerade, to its own (static) address: the subnet leaves the cluster as the router.
  for (const network of routed)
    table.rule(
      NAT_POSTROUTING,
      `networks.${network.name}: the routed subnet leaves as its router ${node.name}`,
      out,
      eq(ip('saddr'), v4(formatPrefix(network.subnet))),
      counter,
      asNode,
    );
}
