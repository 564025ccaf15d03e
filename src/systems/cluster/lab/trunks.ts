// The lab's switches: every NIC a node's uplink or trunk sits on (a bond's slaves each) is a veth
// into a switch, a bridge in the upstream namespace. The uplink's NICs plug into the upstream's own
// bridge; a trunk on other NICs gets a switch of its own, sw-<trunk>. The upstream router holds each
// bridged network's gateway on its switch: on a VLAN subinterface of it when the network is tagged;
// likewise each routed network's gateway (and gateway6), unless a node is its router.
//
//   <node> eno1 ── n1-eno1 ┐
//   <node> eno2 ── n1-eno2 ┤ upstream [uplink: uplink gateway; uplink.104: gateway of VLAN 104]
//   <node> eth1 ── n1-eth1 ─ upstream [sw-eth1: gateway of an untagged bridged network]
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { Cluster, Node } from '../model.ts';
import type { VethPair } from './topology.ts';

export interface LabSwitch {
  /** The bridge in the upstream namespace. */
  readonly bridge: string;
  /** Its ports in the upstream namespace, each the far end of one node NIC. */
  readonly ports: readonly SwitchPort[];
  /** The ports' MTU: the largest the spec gives any interface, so that the switch is never the narrow link. */
  readonly mtu: number;
  /** Bridged networks' gateways on this switch. */
  readonly gateways: readonly LabGateway[];
}

export interface SwitchPort {
  readonly port: string;
  readonly node: string;
  readonly nic: string;
}

export interface LabGateway {
  readonly network: string;
  /** The device holding the address: the switch bridge, or its VLAN subinterface. */
  readonly device: string;
  readonly vlan?: number;
  readonly cidr: string;
  /** A routed network's gateway6/64, next to its gateway. */
  readonly cidr6?: string;
  readonly mtu: number;
}

/** The NICs an interface of the node sits on: a NIC itself, a bond's slaves, a VLAN's parent's. */
export function nicsUnder(node: Node, name: string): string[] {
  const i = node.interfaces.find((x) => x.name === name);
  if (!i) return [name];
  switch (i.kind) {
    case 'nic':
      return [name];
    case 'bond':
      return i.slaves.flatMap((s) => nicsUnder(node, s));
    case 'vlan':
      return nicsUnder(node, i.parent);
  }
}

/** The largest MTU any interface, bridged or routed network of the spec asks for; 1500 at least. */
export function switchMtu(cluster: Cluster): number {
  const mtus = [
    ...cluster.nodes.flatMap((n) => n.interfaces.map((i) => i.mtu ?? 0)),
    ...cluster.bridged.map((b) => b.mtu ?? 0),
    ...cluster.routed.map((r) => r.mtu ?? 0),
  ];
  return Math.max(1500, ...mtus);
}

const portName = (nodeIndex: number, nic: string) => `n${nodeIndex + 1}-${nic}`.slice(0, 15);

/**
 * The switches and the veth pairs into them. `uplinkBridge` is the upstream's bridge, whose ports
 * for plain-NIC uplinks ("to-<node>") the caller makes; a bond uplink's slaves are plugged here.
 */
export function labSwitches(
  cluster: Cluster,
  uplinkBridge: string,
): { switches: LabSwitch[]; links: VethPair[]; bondUplinks: ReadonlySet<string> } {
  const mtu = switchMtu(cluster);
  const ports = new Map<string, SwitchPort[]>([[uplinkBridge, []]]);
  const links: VethPair[] = [];
  const bondUplinks = new Set<string>();
  const switchOf = new Map<string, string>(); // trunk -> switch, as the first node has it
  const plug = (bridge: string, nodeIndex: number, node: Node, nic: string) => {
    const list = ports.get(bridge) ?? [];
    if (list.some((p) => p.node === node.name && p.nic === nic)) return;
    const port = portName(nodeIndex, nic);
    list.push({ port, node: node.name, nic });
    ports.set(bridge, list);
    links.push({
      a: { host: node.name, ifname: nic },
      b: { host: 'upstream', ifname: port },
      what: `${nic} into switch ${bridge}`,
    });
  };
  cluster.nodes.forEach((node, i) => {
    const first = node.uplinkPorts[0];
    const uplinkNics = first === undefined ? [] : nicsUnder(node, first);
    if (first !== undefined && node.interfaces.some((x) => x.name === first && x.kind === 'bond')) {
      bondUplinks.add(node.name);
      for (const nic of uplinkNics) plug(uplinkBridge, i, node, nic);
    }
    // Routed networks trunk into the switches the same way: the upstream router sits on them.
    for (const net of [...cluster.bridged, ...cluster.routed]) {
      if (!net.uplink) continue;
      const nics = nicsUnder(node, net.uplink.trunk);
      const onUplink = nics.some((n) => uplinkNics.includes(n));
      const bridge =
        switchOf.get(net.uplink.trunk) ?? (onUplink ? uplinkBridge : `sw-${net.uplink.trunk}`.slice(0, 15));
      switchOf.set(net.uplink.trunk, bridge);
      // The uplink's own NICs are plugged already (a plain NIC as to-<node>, by the caller).
      if (bridge === uplinkBridge && !bondUplinks.has(node.name)) continue;
      for (const nic of nics) plug(bridge, i, node, nic);
    }
  });
  const switches = [...ports].map(
    ([bridge, list]): LabSwitch => ({
      bridge,
      ports: list,
      mtu,
      gateways: gatewaysOn(cluster, bridge, switchOf, mtu),
    }),
  );
  return { switches, links, bondUplinks };
}

function gatewaysOn(
  cluster: Cluster,
  bridge: string,
  switchOf: ReadonlyMap<string, string>,
  switchMtu: number,
): LabGateway[] {
  // A routed network whose router is a node has its gateway there, not upstream.
  const upstreamRouted = cluster.routed.filter((r) => r.router === undefined);
  return [...cluster.bridged, ...upstreamRouted].flatMap((net): LabGateway[] => {
    if (net.gateway === undefined || !net.uplink || switchOf.get(net.uplink.trunk) !== bridge) return [];
    const vlan = net.uplink.vlan;
    const gateway6 = 'gateway6' in net ? net.gateway6 : undefined;
    const device =
      vlan === undefined ? bridge : `${bridge}.${vlan}`.length <= 15 ? `${bridge}.${vlan}` : `gw${vlan}`;
    return [
      {
        network: net.name,
        device,
        vlan,
        cidr: `${formatIPv4(net.gateway)}/${net.subnet.length}`,
        cidr6: gateway6 === undefined ? undefined : `${gateway6}/64`,
        mtu: Math.min(net.mtu ?? 1500, switchMtu),
      },
    ];
  });
}
