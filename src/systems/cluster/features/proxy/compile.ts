// HTTP reverse proxies (seed part 3, use case U1): the node terminates the client's connection and
// opens its own to the guest. No routing or NAT is involved; what matters is the source address:
// the node's own address on the guest bridge, never the anycast gateway that every node shares
// (the guest's answer to .254 would go to its own node, not to the proxy's).

import type { PlanBuilder } from '../../../../host/builder.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import type { ClusterContext } from '../../compile/context.ts';
import type { Node } from '../../model.ts';

export function compileProxies(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  for (const proxy of ctx.cluster.proxies) {
    if (!proxy.nodes.includes(node.name)) continue;
    const guest = ctx.guestByName.get(proxy.guest);
    const network = ctx.cluster.networks.find((n) => n.name === guest?.network);
    if (!guest || !network) continue;
    plan.proxies.push({
      name: `${proxy.guest}-${proxy.toPort}`,
      bind: `${formatIPv4(node.address)}:${proxy.port}`,
      guest: guest.name,
      backend: `${formatIPv4(guest.address)}:${proxy.toPort}`,
      from: formatIPv4(
        ctx.faults.has('proxy-from-anycast')
          ? network.gateway
          : (network.nodeAddresses.get(node.name) as number),
      ),
      source: `proxies[${proxy.index}]`,
    });
  }
}
