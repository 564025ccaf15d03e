// The node's own links (seed 003): its NICs, bonds and VLANs as the spec declares them, then one
// bridge per bridged or private network with its port toward the other nodes, the VLAN device
// "<trunk>.<vlan>", created from its trunk when the spec does not declare it. The nodes take no
// part in these networks: no address, no route.

import type { PlanBuilder } from '../../../host/builder.ts';
import type { LinkPlan } from '../../../host/plan.ts';
import type { BridgedNetwork, Cluster, Node, NodeInterface } from '../model.ts';

/** The NICs, bonds and VLANs the spec declares for the node, parents first. */
export function compileInterfaces(node: Node, plan: PlanBuilder): void {
  plan.links.push(...node.interfaces.map(linkOf));
}

/** A tagged network's VLAN on its trunk, unless the spec declares it (then it is made as declared). */
export function uplinkVlan(
  plan: PlanBuilder,
  uplink: { readonly trunk: string; readonly vlan?: number; readonly device: string },
  mtu: number | undefined,
  source: string,
  looseBinding = false,
): void {
  if (uplink.vlan === undefined || plan.links.some((l) => l.name === uplink.device)) return;
  plan.links.push({
    kind: 'vlan',
    name: uplink.device,
    parent: uplink.trunk,
    id: uplink.vlan,
    ...(mtu === undefined ? {} : { mtu }),
    ...(looseBinding ? { looseBinding } : {}),
    source,
  });
}

/** A bridge per bridged or private network (one for those sharing it), and the VLANs they need. */
export function compileBridged(cluster: Cluster, plan: PlanBuilder): void {
  for (const networks of byBridge(cluster.bridged)) {
    const first = networks[0] as BridgedNetwork;
    const uplink = first.uplink;
    // The bridge's MTU is the network's, else its trunk's: guest taps take it (nic up).
    const mtu = first.mtu ?? (uplink ? mtuOf(plan.links, uplink.trunk) : undefined);
    const sources = networks.map((n) => `networks.${n.name}`).join(', ');
    if (uplink) uplinkVlan(plan, uplink, mtu, `${sources} (VLAN ${uplink.vlan} on ${uplink.trunk})`);
    plan.bridges.push({
      name: first.bridge,
      ...(mtu === undefined ? {} : { mtu }),
      stp: false,
      callIptables: false,
      ports: uplink ? [uplink.device] : [],
      source: `${sources} (${first.mode}${networks.length > 1 ? ', one bridge shared' : ''})`,
    });
  }
}

function linkOf(i: NodeInterface): LinkPlan {
  const source = i.path.join('.');
  const mtu = i.mtu === undefined ? {} : { mtu: i.mtu };
  switch (i.kind) {
    case 'nic':
      return { kind: 'nic', name: i.name, ...mtu, source };
    case 'bond':
      return {
        kind: 'bond',
        name: i.name,
        ...mtu,
        mode: i.mode,
        miimon: i.miimon,
        ...(i.primary === undefined ? {} : { primary: i.primary }),
        ...(i.xmitHashPolicy === undefined ? {} : { xmitHashPolicy: i.xmitHashPolicy }),
        slaves: i.slaves,
        source,
      };
    case 'vlan':
      return { kind: 'vlan', name: i.name, ...mtu, parent: i.parent, id: i.id, source };
  }
}

/** The MTU a link declares, or its parent's for a VLAN: what a VLAN device starts with. */
export function mtuOf(links: readonly LinkPlan[], name: string): number | undefined {
  const link = links.find((l) => l.name === name);
  if (!link) return undefined;
  return link.mtu ?? (link.kind === 'vlan' ? mtuOf(links, link.parent) : undefined);
}

/** The networks grouped by bridge, in spec order: private networks by MAC prefix share one. */
function byBridge(networks: readonly BridgedNetwork[]): BridgedNetwork[][] {
  const groups = new Map<string, BridgedNetwork[]>();
  for (const n of networks) groups.set(n.bridge, [...(groups.get(n.bridge) ?? []), n]);
  return [...groups.values()];
}
