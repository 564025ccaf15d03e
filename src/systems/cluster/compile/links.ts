// Links, addresses and routes: the node's own NICs, bonds and VLANs (interfaces.ts), the uplink
// bridge with the public address and default route, one guest bridge per gateway network with the
// node's own address first (primary) and the anycast gateway second (both on its router node alone
// for a network with a router), then the bridges of the
// bridged and private networks (interfaces.ts).

import type { PlanBuilder } from '../../../host/builder.ts';
import { formatIPv4, formatPrefix } from '../../../util/ipv4.ts';
import type { Node } from '../model.ts';
import type { ClusterContext } from './context.ts';
import { compileBridged, compileInterfaces } from './interfaces.ts';

export function compileLinks(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  const { cluster } = ctx;
  const source = `nodes.${node.name}`;
  compileInterfaces(node, plan);
  plan.bridges.push({
    name: node.uplinkBridge,
    stp: false,
    callIptables: false,
    ports: node.uplinkPorts,
    source: `${source} uplink`,
  });
  plan.addresses.push({
    dev: node.uplinkBridge,
    cidr: `${formatIPv4(node.address)}/${cluster.uplink.subnet.length}`,
    source: `${source}.address`,
  });
  plan.routes.push({
    to: 'default',
    via: formatIPv4(cluster.uplink.gateway),
    dev: node.uplinkBridge,
    source: 'uplink.gateway',
  });

  const pipes = ctx.pipesByNode.get(node.name) ?? [];
  for (const network of cluster.networks) {
    plan.bridges.push({
      name: network.bridge,
      mac: node.bridgeMac,
      stp: network.stp,
      forwardDelay: network.forwardDelay,
      // Stateless inbound needs conntrack on frames bridged from the pipes to the guests (seed part 4).
      // A router's bridges too: br_netfilter runs where the global bridge-nf-call-iptables OR the
      // bridge's flag is on, and the global is on wherever the module is loaded, so a 0 here would
      // not keep them out. Harmless for them: br_netfilter runs the ip hooks with the bridge as iif,
      // as the router's own pass would (seed 004's insertion measured so, global on).
      callIptables: ctx.uses.stateless,
      // conntrackd's multicast must reach every node also when no IGMP querier refreshes the
      // snooping entries (they expire after 260 s and the group would stop at this bridge).
      ...(ctx.cluster.sync?.network === network.name ? { multicastSnooping: false } : {}),
      ports: pipes.filter((p) => p.network === network).map((p) => p.ifname),
      source: `networks.${network.name} (MAC from ${source} tag ${node.tag})`,
    });
    const length = network.subnet.length;
    // Primary first: the node's ARP requests must come from its own address, never from the
    // anycast gateway, whose ARP is dropped on the pipes (seed part 4).
    // A network with a router (seed 004) has its addresses on that node alone: the others only
    // bridge it (an address there would let them route its guests around the router).
    if (network.router !== undefined && network.router.node !== node.name) {
      // Its guests are reached through the router, over the uplink: this node's own traffic and
      // its other networks' guests (an anycast guest dialling a tenant guest) go there, never onto
      // the bridge around the router.
      const router = cluster.nodes.find((n) => n.name === network.router?.node);
      if (router && !network.transit)
        plan.routes.push({
          to: formatPrefix(network.subnet),
          via: formatIPv4(router.address),
          dev: node.uplinkBridge,
          source: `networks.${network.name}.router (${router.name})`,
        });
      continue;
    }
    const own = network.nodeAddresses.get(node.name) as number;
    plan.addresses.push({
      dev: network.bridge,
      cidr: `${formatIPv4(own)}/${length}`,
      source: `networks.${network.name}.nodes.${node.name}`,
    });
    plan.addresses.push({
      dev: network.bridge,
      cidr: `${formatIPv4(network.gateway)}/${length}`,
      source: `networks.${network.name}.gateway (${network.router ? `${node.name} is its router` : 'anycast'})`,
    });
  }
  compileBridged(cluster, plan);
}
