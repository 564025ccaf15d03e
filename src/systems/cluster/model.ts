// The resolved cluster: what the spec means once defaults are filled in, names are looked up,
// tags are allocated and addresses are parsed. Every later stage reads this, never the raw spec.

import type { SpecPath } from '../../input/problem.ts';
import type { Cidr } from '../../util/ip.ts';
import type { Prefix } from '../../util/ipv4.ts';
import type { Marks } from '../marks/model.ts';
import type { CheckProto, NetworkMode, Strategy, SyncMode } from './schema.ts';
import type { FirewallProfile, SpoofPolicy } from './schema-guests.ts';
import type { BondMode, XmitHashPolicy } from './schema-interfaces.ts';

export type {
  BondMode,
  CheckProto,
  FirewallProfile,
  NetworkMode,
  SpoofPolicy,
  Strategy,
  SyncMode,
  XmitHashPolicy,
};

export interface Cluster {
  readonly name: string;
  readonly strategy: Strategy;
  /** First octet of the nodes' guest-bridge MACs; the second is the node tag. */
  readonly tagMacPrefix: string;
  readonly uplink: { readonly subnet: Prefix; readonly gateway: number };
  readonly nodes: readonly Node[];
  /** The anycast-gateway networks (mode gateway): every node is their gateway and NAT. */
  readonly networks: readonly Network[];
  /** The networks the nodes only bridge (modes bridged and private): no node address, no NAT. */
  readonly bridged: readonly BridgedNetwork[];
  /** The IP-less routed networks (mode routed): every node routes its own guests' addresses. */
  readonly routed: readonly RoutedNetwork[];
  readonly guests: readonly Guest[];
  /** The guests' floating IPs, in the order of the guests (seed 004). */
  readonly floating: readonly Floating[];
  readonly forwards: readonly Forward[];
  readonly proxies: readonly HttpProxy[];
  /** conntrackd's sync, when a forward uses strategy ctsync. */
  readonly sync?: Sync;
  /** The bits of the marks convergent uses (node tags of strategy stateless). */
  readonly marks: Marks;
  /** The spec's lab checks; undefined when it has no "checks:" (the lab derives them). */
  readonly checks?: readonly Check[];
}

export interface Node {
  readonly name: string;
  /** Public address on the uplink bridge. */
  readonly address: number;
  readonly tag: number;
  readonly tagAllocated: boolean;
  readonly uplinkBridge: string;
  readonly uplinkPorts: readonly string[];
  /** MAC of the node's guest bridges; its first two octets are the tag prefix seen on the pipes. */
  readonly bridgeMac: string;
  /** The node's own interfaces (the cluster's and its own), parents before what sits on them. */
  readonly interfaces: readonly NodeInterface[];
  readonly path: SpecPath;
}

/** A NIC (it exists: the node's hardware), a bond over NICs, or a VLAN subinterface of either. */
export type NodeInterface =
  | { readonly kind: 'nic'; readonly name: string; readonly mtu?: number; readonly path: SpecPath }
  | {
      readonly kind: 'bond';
      readonly name: string;
      readonly mtu?: number;
      readonly mode: BondMode;
      readonly slaves: readonly string[];
      readonly primary?: string;
      /** Link monitoring interval in ms: the bound on failover detection. */
      readonly miimon: number;
      /** 802.3ad only. */
      readonly xmitHashPolicy?: XmitHashPolicy;
      readonly path: SpecPath;
    }
  | {
      readonly kind: 'vlan';
      readonly name: string;
      readonly mtu?: number;
      readonly parent: string;
      readonly id: number;
      readonly path: SpecPath;
    };

export interface PipeEnd {
  readonly node: string;
  readonly ifname: string;
}

export interface Pipe {
  readonly ends: readonly [PipeEnd, PipeEnd];
  readonly path: SpecPath;
}

export interface Network {
  readonly name: string;
  readonly bridge: string;
  readonly subnet: Prefix;
  /** The anycast gateway address, on every node's guest bridge. */
  readonly gateway: number;
  /** Each node's own (primary) address on the bridge. */
  readonly nodeAddresses: ReadonlyMap<string, number>;
  readonly pipes: readonly Pipe[];
  readonly stp: boolean;
  /** STP forward delay in seconds; the kernel's default when undefined. */
  readonly forwardDelay?: number;
  /** Seed 004: the one node holding the gateway and the NAT; undefined: every node (anycast). */
  readonly router?: Router;
  /** The network of an appliance (F38): its ports are exempt from anti-spoofing. */
  readonly transit: boolean;
  readonly path: SpecPath;
}

/** A gateway network's router node (seed 004's tenant router, a qrouter without its namespace). */
export interface Router {
  readonly node: string;
  /** The address on the uplink the subnet leaves as: the spec's "snat", else the node's own. */
  readonly snat: number;
  /** The appliance its traffic to and from the uplink passes (F34), when it inserts one. */
  readonly insert?: Insertion;
}

/** Service insertion: the router steers the network's north-south traffic through an appliance. */
export interface Insertion {
  /** The appliance guest. */
  readonly appliance: string;
  /** Its transit network (a gateway network with transit and the same router). */
  readonly transit: string;
  /** Its address there: the next hop of the steering table. */
  readonly address: number;
  /** The steering table: its number and its name in rt_tables.d ("<network>-insert"). */
  readonly table: { readonly id: number; readonly name: string; readonly allocated: boolean };
}

/** A floating IP: a public address on the uplink, NATed 1:1 to a NIC by its network's router. */
export interface Floating {
  readonly address: number;
  readonly guest: string;
  readonly nic: number;
  /** The NIC's own address. */
  readonly to: number;
  readonly network: string;
  /** The router node doing the NAT. */
  readonly node: string;
  readonly path: SpecPath;
}

/**
 * A network the nodes bridge without taking part in it: "bridged" (F17, the guests' gateway is
 * upstream) or "private" (F23 by MAC prefix on a bridge it may share; F24 a VLAN from a pool).
 */
export interface BridgedNetwork {
  readonly name: string;
  readonly mode: 'bridged' | 'private';
  /** The bridge on every node; private networks by MAC prefix may share one. */
  readonly bridge: string;
  readonly subnet: Prefix;
  /** bridged: the upstream router the guests use. */
  readonly gateway?: number;
  /** The bridge's port toward the other nodes: "<trunk>.<vlan>", or the trunk itself when untagged. */
  readonly uplink?: { readonly trunk: string; readonly vlan?: number; readonly device: string };
  /** The bridge's MTU (guest taps take it); the trunk's when undefined. */
  readonly mtu?: number;
  /** private by MAC prefix: "aa:00:10", under mask ff:ff:f0:00:00:00. */
  readonly macPrefix?: string;
  /** private from a pool: the pool and the slot N (bridge prvN over VLAN base+N). */
  readonly pool?: { readonly name: string; readonly slot: number; readonly slotAllocated: boolean };
  readonly path: SpecPath;
}

/**
 * An IP-less routed network (F18, F19, seed 003's routed networks, gnt-networking's ip-less-routed):
 * no shared L2 between guests; each node holds a routing table for the network, routes its own
 * guests' addresses to their taps (/32, /128, added by `nic up`) and answers ARP and NDP for them on
 * the trunk, and the gateway is upstream (or the router node). No node owns an address in the subnet.
 */
export interface RoutedNetwork {
  readonly name: string;
  readonly subnet: Prefix;
  /** The upstream router (or the router node's address on the uplink device). */
  readonly gateway: number;
  /** The source of ARP requests toward the uplink device (gnt-networking's ARP_IP). */
  readonly arpAddress: number;
  /** The routing table: its number, its name in rt_tables.d (the network's), and whether it hangs on the networks' order. */
  readonly table: { readonly id: number; readonly name: string; readonly allocated: boolean };
  /** The node's device in the network: "<trunk>.<vlan>", or the trunk itself when untagged. */
  readonly uplink: { readonly trunk: string; readonly vlan?: number; readonly device: string };
  /** The taps' MTU; the trunk's when undefined. */
  readonly mtu?: number;
  /** The guests' /64, normalised ("2001:db8::/64"). */
  readonly subnet6?: Cidr;
  readonly gateway6?: string;
  /** The MAC every tap of the network takes (gnt-networking's cc:47:52:4e:45:54). */
  readonly tapMac: string;
  /** The node that is the network's router (F26); undefined when the router is upstream. */
  readonly router?: string;
  readonly path: SpecPath;
}

/** A guest's NIC: what `nic up` plugs into its network's bridge and guards at its port. */
export interface Nic {
  readonly guest: string;
  /** Ganeti's NIC index: 0 for the first. */
  readonly index: number;
  readonly network: string;
  readonly mac?: string;
  readonly address?: number;
  /** Normalised IPv6 text: as written, or on a routed network with subnet6 the EUI-64 of the MAC. */
  readonly address6?: string;
  readonly firewall: FirewallProfile;
  /** "allow" on a transit network (F38) whatever the spec says: the appliance forwards. */
  readonly spoof: SpoofPolicy;
  /** Its floating IP (seed 004), NATed by its network's router. */
  readonly floating?: number;
  readonly path: SpecPath;
}

export interface Guest {
  readonly name: string;
  readonly node: string;
  /** nic 0's network and addresses: what forwards, proxies and the checks name the guest by. */
  readonly network: string;
  readonly address: number;
  readonly mac?: string;
  readonly nics: readonly Nic[];
  readonly path: SpecPath;
}

export interface Forward {
  readonly index: number;
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
  readonly guest: string;
  readonly toPort: number;
  /** The nodes whose public address carries this forward (all nodes unless the spec narrows it). */
  readonly nodes: readonly string[];
  /** True when the spec left "nodes" out: the forward is the same on every node. */
  readonly everyNode: boolean;
  readonly strategy: Strategy;
  readonly path: SpecPath;
}

/** conntrackd state replication (strategy ctsync): multicast over one guest network's pipes. */
export interface Sync {
  readonly network: string;
  readonly group: number;
  readonly port: number;
  /** FTFW (acknowledged) for two nodes; NOTRACK (best effort) for more: see validate.ts. */
  readonly mode: SyncMode;
  readonly path: SpecPath;
}

/** An HTTP reverse proxy on nodes' public addresses in front of a guest. */
export interface HttpProxy {
  readonly index: number;
  readonly port: number;
  readonly guest: string;
  readonly toPort: number;
  readonly nodes: readonly string[];
  readonly path: SpecPath;
}

/** A host as a check names it; addresses of the workstation are the lab's to choose. */
export type HostRef =
  | { readonly kind: 'workstation' }
  | { readonly kind: 'gateway' }
  | { readonly kind: 'node'; readonly name: string }
  /** A guest by NIC 0, or its NIC `nic` ("vm2:1"). */
  | { readonly kind: 'guest'; readonly name: string; readonly nic?: number }
  /** A network, as the segment a multicast or broadcast check sends on. */
  | { readonly kind: 'network'; readonly name: string }
  | { readonly kind: 'address'; readonly address: number };

export interface Check {
  readonly name: string;
  /** The client: the workstation or a guest. */
  readonly from: HostRef;
  readonly to: HostRef;
  readonly proto: CheckProto;
  readonly port?: number;
  /** ping, tcp, udp: the address family dialled (4 when unset; 6: guests' address6, gateway6, the workstation's lab IPv6 address). */
  readonly family?: 4 | 6;
  /** tcp, udp: the address the client adds and sends from; garp: the address it announces. */
  readonly source?: HostRef;
  /** The MAC the client's NIC takes before sending. */
  readonly mac?: string;
  /** ping: payload bytes, sent with "don't fragment". */
  readonly size?: number;
  /** Bond failover: the switch side of this node's link goes down during the check. */
  readonly cut?: { readonly node: string; readonly link: string };
  readonly expect: {
    /** The client sends and nothing answers. */
    readonly blocked?: boolean;
    /** multicast, broadcast: the guests that must receive it, and no other. */
    readonly receivers?: readonly HostRef[];
    /** Who must answer: a guest or the workstation; for arp, the node whose MAC answers. */
    readonly answers?: HostRef;
    /** The source address the server must see. */
    readonly sees?: HostRef;
    /** The node through which traffic toward the workstation leaves the cluster (seen on the uplink). */
    readonly leaves?: string;
    /** The only node whose IpForwDatagrams grows while the check runs. */
    readonly via?: string;
    /** The appliance the flow passes both ways, or "none": no appliance forwards it. */
    readonly through?: string;
    /** ping: the echo reply's TTL at the client. */
    readonly ttl?: number;
  };
  readonly path: SpecPath;
}
