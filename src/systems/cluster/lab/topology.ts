// The lab's topology, derived from the cluster alone: which namespaces, which veth pairs, which
// addresses. Pure data; build.ts makes it real. Interfaces the rendered files name (uplink ports,
// pipes) get exactly those names, so each node's files load unchanged.
//
//   workstation eth0 ── wan0 upstream [bridge uplink: uplink.gateway] ── to-<node> ── eth0 <node>
//   <node> <pipe ifname> ── <pipe ifname> <other node>
//   <guest> eth0 ── vif-<guest> <node>, attached to the network's bridge once network.sh has run

import { LabError } from '../../../lab/errors.ts';
import { formatIPv4, overlaps, type Prefix, parsePrefix } from '../../../util/ipv4.ts';
import { plural } from '../../../util/plural.ts';
import type { Cluster, Guest, HostRef, Network, Nic, Node } from '../model.ts';
import { type LabNic, labNics, vifName } from './guest-nics.ts';
import { type LabSwitch, labSwitches } from './trunks.ts';

// A CGNAT lab's: its router, the uplink's far side, a tenant's client, a tenant's namespace (netns).
export type HostRole =
  | 'upstream'
  | 'workstation'
  | 'node'
  | 'guest'
  | 'router'
  | 'peer'
  | 'client'
  | 'tenant';

export interface LabHost {
  readonly name: string;
  readonly role: HostRole;
}

export interface LinkEnd {
  readonly host: string;
  readonly ifname: string;
  readonly mac?: string;
}

/** A veth pair; created from end a with its peer placed straight into end b's namespace. */
export interface VethPair {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  /** Why it exists, for progress lines and `lab status`. */
  readonly what: string;
  /**
   * A pipe between two VLAN subinterfaces (eth1.100 on both nodes): where the kernel has 802.1Q the
   * veth pair is made of the parents, and each end is a real VLAN subinterface on top.
   */
  readonly vlan?: { readonly id: number; readonly parentA: string; readonly parentB: string };
}

/** A guest's NIC on a gateway network: NIC 0, and any later one (an appliance's management NIC). */
export interface LabGuest {
  readonly guest: Guest;
  readonly nic: Nic;
  readonly network: Network;
  /** The interface in the guest: eth<index>. */
  readonly ifname: string;
  /** The guest's port on its node, attached to the network's bridge after network.sh ran. */
  readonly vif: string;
  readonly cidr: string;
  /** NIC 0: the guest's default route, its network's gateway. */
  readonly gateway?: string;
  /** A later NIC: its own address's traffic leaves by its network's gateway (a table of its own). */
  readonly sourceGateway?: string;
}

export interface Topology {
  readonly hosts: readonly LabHost[];
  readonly links: readonly VethPair[];
  /** Guests' NICs on gateway networks (NIC 0 first). */
  readonly guests: readonly LabGuest[];
  /** Guests' NICs on bridged and private networks. */
  readonly nics: readonly LabNic[];
  /** The upstream's bridges the nodes' NICs plug into: its uplink bridge first. */
  readonly switches: readonly LabSwitch[];
  readonly upstream: {
    readonly bridge: string;
    /** The uplink gateway, on the bridge: "192.168.122.1/24". */
    readonly uplinkCidr: string;
    readonly wanCidr: string;
    /** The upstream port each node's uplink NIC is plugged into (a bond's slaves: see switches). */
    readonly portOf: ReadonlyMap<string, string>;
  };
  readonly workstation: {
    readonly address: number;
    readonly cidr: string;
    readonly gateway: string;
    /** When a routed network has its IPv6 router upstream: the workstation's IPv6 side, routed by the upstream. */
    readonly v6?: {
      readonly address: string;
      readonly cidr: string;
      readonly gateway: string;
      readonly wanCidr: string;
    };
  };
  /** Plain statements about where the lab differs from real hardware. */
  readonly notes: readonly string[];
}

export const UPSTREAM = 'upstream';
export const WORKSTATION = 'workstation';
const UPLINK_BRIDGE = 'uplink';

// The workstation's segment beyond the upstream router: documentation prefixes (RFC 5737), the
// first one the cluster does not use.
const WAN_CANDIDATES = ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24'];

/** `<prefix><name>` when it fits IFNAMSIZ, else `<prefix><n>`: readable where it can be. */
function ifnameFor(prefix: string, name: string, n: number, suffix = ''): string {
  const full = `${prefix}${name}${suffix}`;
  return full.length <= 15 ? full : `${prefix}${n}${suffix}`;
}

export function labTopology(cluster: Cluster): Topology {
  const notes: string[] = [];
  const wan = chooseWan(cluster);
  const hosts: LabHost[] = [
    { name: UPSTREAM, role: 'upstream' },
    { name: WORKSTATION, role: 'workstation' },
    ...cluster.nodes.map((n): LabHost => ({ name: n.name, role: 'node' })),
    ...cluster.guests.map((g): LabHost => ({ name: g.name, role: 'guest' })),
  ];
  const trunks = labSwitches(cluster, UPLINK_BRIDGE);
  const uplinks = uplinkLinks(cluster, notes, trunks.bondUplinks);
  const guests = labGuests(cluster);
  const nics = labNics(cluster, (net) => trunkMtu(cluster, net.uplink?.device, net.uplink?.trunk));
  const links: VethPair[] = [
    { a: { host: WORKSTATION, ifname: 'eth0' }, b: { host: UPSTREAM, ifname: 'wan0' }, what: 'workstation' },
    ...uplinks.links,
    ...trunks.links,
    ...pipeLinks(cluster),
    ...guests.map(
      (g): VethPair => ({
        a: { host: g.guest.name, ifname: g.ifname, mac: g.nic.mac },
        b: { host: g.guest.node, ifname: g.vif },
        what: g.nic.index === 0 ? `guest ${g.guest.name}` : `guest ${g.guest.name} NIC ${g.nic.index}`,
      }),
    ),
    ...nics.map(
      (n): VethPair => ({
        a: { host: n.guest.name, ifname: n.ifname, mac: n.nic.mac },
        b: { host: n.guest.node, ifname: n.vif },
        what: `guest ${n.guest.name} NIC ${n.nic.index}`,
      }),
    ),
  ];
  const [uplinkSwitch, ...others] = trunks.switches;
  const uplinkPorts = [...uplinks.portOf].map(([node, port]) => ({ port, node, nic: '' }));
  return {
    hosts,
    links,
    guests,
    nics,
    switches: uplinkSwitch
      ? [{ ...uplinkSwitch, ports: [...uplinkPorts, ...uplinkSwitch.ports] }, ...others]
      : others,
    upstream: {
      bridge: UPLINK_BRIDGE,
      uplinkCidr: `${formatIPv4(cluster.uplink.gateway)}/${cluster.uplink.subnet.length}`,
      wanCidr: `${formatIPv4(wan.network + 1)}/${wan.length}`,
      portOf: uplinks.portOf,
    },
    workstation: {
      address: wan.network + 10,
      cidr: `${formatIPv4(wan.network + 10)}/${wan.length}`,
      gateway: formatIPv4(wan.network + 1),
      v6: workstationV6(cluster),
    },
    notes,
  };
}

/** A bridged network's MTU when it names none: its uplink device's, else its trunk's. */
function trunkMtu(cluster: Cluster, device: string | undefined, trunk: string | undefined): number {
  const node = cluster.nodes[0];
  const mtuOf = (name: string | undefined) => node?.interfaces.find((i) => i.name === name)?.mtu;
  return mtuOf(device) ?? mtuOf(trunk) ?? 1500;
}

/**
 * Each node's first uplink port plugged into the upstream (the port it gets there by node), the
 * others spare; a bond's slaves are plugged by labSwitches instead.
 */
function uplinkLinks(
  cluster: Cluster,
  notes: string[],
  bondUplinks: ReadonlySet<string>,
): { links: VethPair[]; portOf: Map<string, string> } {
  const links: VethPair[] = [];
  const portOf = new Map<string, string>();
  cluster.nodes.forEach((node, i) => {
    const [first, ...rest] = node.uplinkPorts;
    if (first === undefined) throw noUplinkPort(node);
    if (bondUplinks.has(node.name)) return;
    const port = ifnameFor('to-', node.name, i + 1);
    portOf.set(node.name, port);
    links.push({
      a: { host: node.name, ifname: first },
      b: { host: UPSTREAM, ifname: port },
      what: 'uplink',
    });
    rest.forEach((extra, j) => {
      links.push({
        a: { host: node.name, ifname: extra },
        b: { host: UPSTREAM, ifname: ifnameFor('spare-', `${i + 1}-${j + 1}`, i + 1) },
        what: 'spare uplink port (not plugged in)',
      });
    });
    if (rest.length > 0)
      notes.push(
        `node ${node.name}: only ${first} of its uplink ports is plugged into the upstream; ${rest.join(', ')} exist unconnected (a bond is not modelled)`,
      );
  });
  return { links, portOf };
}

/** Every network's pipes; two VLAN subinterfaces of one tag, each alone on its parent, as a VLAN pipe. */
function pipeLinks(cluster: Cluster): VethPair[] {
  const parents = new Map<string, number>(); // "node parent" -> pipes on it: a veth has one peer
  const vlanOf = (ifname: string) => /^(.+)\.(\d+)$/.exec(ifname);
  for (const network of cluster.networks)
    for (const pipe of network.pipes)
      for (const end of pipe.ends) {
        const m = vlanOf(end.ifname);
        if (m) parents.set(`${end.node} ${m[1]}`, (parents.get(`${end.node} ${m[1]}`) ?? 0) + 1);
      }
  return cluster.networks.flatMap((network) =>
    network.pipes.map((pipe): VethPair => {
      const [a, b] = pipe.ends;
      const [va, vb] = [vlanOf(a.ifname), vlanOf(b.ifname)];
      const alone = (node: string, parent: string | undefined) => parents.get(`${node} ${parent}`) === 1;
      const vlan =
        va?.[1] !== undefined &&
        vb?.[1] !== undefined &&
        va[2] === vb[2] &&
        alone(a.node, va[1]) &&
        alone(b.node, vb[1])
          ? { id: Number(va[2]), parentA: va[1], parentB: vb[1] }
          : undefined;
      return {
        a: { host: a.node, ifname: a.ifname },
        b: { host: b.node, ifname: b.ifname },
        what: `pipe of ${network.name}`,
        ...(vlan ? { vlan } : {}),
      };
    }),
  );
}

/**
 * Every guest NIC on a gateway network. NIC 0 takes the guest's default route (its network's
 * gateway); a later NIC routes only its own address's traffic by its network's gateway, as a
 * multi-homed appliance answers management on its management NIC.
 */
function labGuests(cluster: Cluster): LabGuest[] {
  const networkByName = new Map(cluster.networks.map((n) => [n.name, n]));
  const bridged = new Set([...cluster.bridged, ...cluster.routed].map((n) => n.name));
  return cluster.guests.flatMap((guest, i) =>
    guest.nics.flatMap((nic): LabGuest[] => {
      if (bridged.has(nic.network) || nic.address === undefined) return [];
      const network = networkByName.get(nic.network);
      if (!network)
        throw new LabError(`guest ${guest.name} is on network ${nic.network}, which the cluster lacks`);
      const via = formatIPv4(network.gateway);
      return [
        {
          guest,
          nic,
          network,
          ifname: `eth${nic.index}`,
          vif: vifName(guest.name, i, nic.index),
          cidr: `${formatIPv4(nic.address)}/${network.subnet.length}`,
          ...(nic.index === 0 ? { gateway: via } : { sourceGateway: via }),
        },
      ];
    }),
  );
}

// The workstation's IPv6 segment: the first of these no routed network uses.
const WAN6_CANDIDATES = ['2001:db8:ffff::', 'fd00:c0:ffee::'];

/** The workstation's IPv6 address when a routed network's IPv6 router is the upstream (no router node). */
function workstationV6(cluster: Cluster): Topology['workstation']['v6'] {
  const routed = cluster.routed.filter((r) => r.router === undefined && r.gateway6 !== undefined);
  if (routed.length === 0) return undefined;
  const used = new Set(cluster.routed.map((r) => r.subnet6?.text));
  const prefix = WAN6_CANDIDATES.find((p) => !used.has(p)) as string;
  return { address: `${prefix}10`, cidr: `${prefix}10/64`, gateway: `${prefix}1`, wanCidr: `${prefix}1/64` };
}

function chooseWan(cluster: Cluster): Prefix {
  const used = [
    cluster.uplink.subnet,
    ...cluster.networks.map((n) => n.subnet),
    ...cluster.bridged.map((n) => n.subnet),
    ...cluster.routed.map((n) => n.subnet),
  ];
  for (const text of WAN_CANDIDATES) {
    const p = parsePrefix(text) as Prefix;
    if (!used.some((u) => overlaps(u, p))) return p;
  }
  throw new LabError(
    `the cluster uses all of ${WAN_CANDIDATES.join(', ')}; the lab needs one of them for the workstation's segment`,
  );
}

function noUplinkPort(node: Node): LabError {
  return new LabError(
    `node ${node.name} has no uplink port, so the lab cannot plug it into the upstream segment; ` +
      `list the interface under its uplink bridge ${node.uplinkBridge}, e.g. uplink: { ports: [eth0] }`,
  );
}

/** The address a host has on the segment of a server: what that server sees as its peer. */
export function addressOn(
  cluster: Cluster,
  topology: Topology,
  host: HostRef,
  server: { role: 'workstation' } | { role: 'guest'; network: Network },
): number | undefined {
  switch (host.kind) {
    case 'workstation':
      return topology.workstation.address;
    case 'address':
      return host.address;
    case 'guest':
      return cluster.guests.find((g) => g.name === host.name)?.nics[host.nic ?? 0]?.address;
    case 'network':
      return undefined;
    case 'node': {
      const node = cluster.nodes.find((n) => n.name === host.name);
      if (!node) return undefined;
      // On a router's network a node other than the router holds no address: it reaches the
      // guest through the router, from its public address.
      return server.role === 'guest'
        ? (server.network.nodeAddresses.get(node.name) ?? node.address)
        : node.address;
    }
    case 'gateway':
      return server.role === 'guest' ? server.network.gateway : undefined;
  }
}

export function describeTopology(cluster: Cluster, topology: Topology): string[] {
  return [
    `workstation ${topology.workstation.cidr}, routed by upstream ${topology.upstream.wanCidr}`,
    `upstream ${topology.upstream.uplinkCidr} on the uplink segment of ${plural(cluster.nodes.length, 'node')}`,
    ...topology.notes,
  ];
}
