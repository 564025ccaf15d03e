// Kernel settings the plan relies on. Per-interface values are set on the interface itself:
// "default" would only reach interfaces created after the setting (seed part 4's arp_filter).

import type { PlanBuilder } from '../../../host/builder.ts';
import type { Node } from '../model.ts';
import type { ClusterContext } from './context.ts';

export function compileSysctls(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  // A node that only bridges its guests (modes bridged and private) routes nothing for them.
  if (ctx.cluster.networks.length > 0)
    plan.sysctl(['net', 'ipv4', 'ip_forward'], '1', `nodes.${node.name}: the node routes its guests`);
  for (const network of ctx.cluster.networks) {
    // Announce the node's primary address in ARP requests on the guest bridge, never the anycast one.
    plan.sysctl(
      ['net', 'ipv4', 'conf', network.bridge, 'arp_announce'],
      '2',
      `networks.${network.name}.gateway`,
    );
  }
  // The node has no address on a network it only bridges: without this, each bridge and its port
  // would take an IPv6 link-local address and, from any router advertisement on the VLAN, a global one.
  const done = new Set<string>();
  for (const network of ctx.cluster.bridged)
    for (const dev of [network.bridge, network.uplink?.device]) {
      if (dev === undefined || done.has(dev)) continue;
      done.add(dev);
      plan.sysctl(
        ['net', 'ipv6', 'conf', dev, 'disable_ipv6'],
        '1',
        `networks.${network.name} (${network.mode}): no node address on it, IPv6 neither`,
      );
    }
  if (ctx.uses.stateless) {
    // Bridged frames from the pipes must reach the ip hooks and conntrack (per bridge: nf_call_iptables).
    plan.module('br_netfilter', 'strategy stateless: conntrack for bridged frames');
  }
}
