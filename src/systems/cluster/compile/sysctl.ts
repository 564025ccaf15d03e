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
  routedSysctls(ctx, plan);
  if (ctx.uses.stateless) {
    // Bridged frames from the pipes must reach the ip hooks and conntrack (per bridge: nf_call_iptables).
    plan.module('br_netfilter', 'strategy stateless: conntrack for bridged frames');
  }
}

/**
 * Routed networks (F18, F19): the node forwards its guests' packets and answers ARP (proxy_arp) and
 * NDP (proxy_ndp, for the entries `nic up` adds) for them on the uplink, at once: the kernel delays a
 * proxied answer by up to proxy_delay (0.8 s) otherwise. The taps' own settings come with `nic up`.
 */
function routedSysctls(ctx: ClusterContext, plan: PlanBuilder): void {
  for (const network of ctx.cluster.routed) {
    const dev = network.uplink.device;
    const at = `networks.${network.name}`;
    plan.sysctl(['net', 'ipv4', 'ip_forward'], '1', `${at} (routed): the node routes its guests`);
    plan.sysctl(['net', 'ipv4', 'conf', dev, 'proxy_arp'], '1', `${at}: the node answers ARP for its guests`);
    plan.sysctl(['net', 'ipv4', 'neigh', dev, 'proxy_delay'], '0', `${at}: proxied ARP answered at once`);
    // A node still sent to for a guest that moved (before its GARP) forwards back out the uplink; a
    // redirect would carry the node's own address into the subnet. The kernel sends one when either
    // "all" or the device says so.
    for (const on of ['all', dev])
      plan.sysctl(
        ['net', 'ipv4', 'conf', on, 'send_redirects'],
        '0',
        `${at}: no ICMP redirects into the subnet`,
      );
    if (network.subnet6 === undefined) {
      // No node address on it, IPv6 neither: an upstream router advertisement would give it one.
      plan.sysctl(['net', 'ipv6', 'conf', dev, 'disable_ipv6'], '1', `${at}: no subnet6, no node address`);
      continue;
    }
    // Forwarding on every interface: the node also stops taking router advertisements (accept_ra 1).
    plan.sysctl(
      ['net', 'ipv6', 'conf', 'all', 'forwarding'],
      '1',
      `${at}.subnet6: the node routes its guests`,
    );
    plan.sysctl(
      ['net', 'ipv6', 'conf', dev, 'proxy_ndp'],
      '1',
      `${at}.subnet6: the node answers NDP for its guests`,
    );
    plan.sysctl(
      ['net', 'ipv6', 'neigh', dev, 'proxy_delay'],
      '0',
      `${at}.subnet6: proxied NDP answered at once`,
    );
  }
}
