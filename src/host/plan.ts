// A HostPlan: everything one node needs, as data. Render turns it into files; the lab and apply
// read it too. Each item carries `source`, the spec path it came from, printed as a comment.
import type { Ruleset } from '../nft/tree.ts';

/**
 * A link of the node's own, parents before what sits on them: a NIC (it exists: only its MTU is
 * set), a bond over NICs, or a VLAN subinterface of either.
 */
export type LinkPlan = NicPlan | BondPlan | VlanPlan;

export interface NicPlan {
  readonly kind: 'nic';
  readonly name: string;
  readonly mtu?: number;
  readonly source: string;
}

export interface BondPlan {
  readonly kind: 'bond';
  readonly name: string;
  readonly mtu?: number;
  readonly mode: 'active-backup' | '802.3ad';
  /** Link monitoring interval in ms. */
  readonly miimon: number;
  /** active-backup: the slave that carries the traffic whenever its link is up. */
  readonly primary?: string;
  /** 802.3ad: how flows are spread over the slaves. */
  readonly xmitHashPolicy?: string;
  readonly slaves: readonly string[];
  readonly source: string;
}

export interface VlanPlan {
  readonly kind: 'vlan';
  readonly name: string;
  readonly mtu?: number;
  /** The NIC or bond carrying the tagged frames. */
  readonly parent: string;
  readonly id: number;
  /**
   * Stays up when its parent goes down (`loose_binding`): without it the kernel takes the VLAN
   * down with its parent and flushes its routes and proxy-NDP entries, which nothing puts back.
   */
  readonly looseBinding?: boolean;
  readonly source: string;
}

export interface BridgePlan {
  readonly name: string;
  readonly mac?: string;
  /** Set explicitly (guest taps take it); the kernel's (the smallest port's) when undefined. */
  readonly mtu?: number;
  readonly stp: boolean;
  /** STP forward delay in seconds (kernel default when undefined). */
  readonly forwardDelay?: number;
  /** Pass this bridge's IPv4 frames through the ip hooks and conntrack (br_netfilter, per bridge). */
  readonly callIptables: boolean;
  /** false: flood multicast to every port (no IGMP snooping); the kernel's default when undefined. */
  readonly multicastSnooping?: boolean;
  readonly ports: readonly string[];
  readonly source: string;
}

export interface AddressPlan {
  readonly dev: string;
  /** "10.5.5.251/24" */
  readonly cidr: string;
  readonly source: string;
}

export interface RoutePlan {
  /** "default", "192.0.2.0/24", "2001:db8::/64". */
  readonly to: 'default' | string;
  /** unreachable: the lookup ends there, with an error (no device, no gateway). */
  readonly type?: 'unreachable';
  readonly via?: string;
  readonly dev?: string;
  readonly metric?: number;
  /** A routing table's number (rt_tables.d names it); the main table when undefined. */
  readonly table?: number;
  /** 6: an IPv6 route (ip -6): "default" alone does not say the family. */
  readonly family?: 6;
  /** ifupdown: the interface whose stanza adds the route when it comes up, when it has no dev. */
  readonly upWith?: string;
  readonly source: string;
}

/** A policy routing rule: "pref 1000 iif eth1 lookup 500", "pref 2009 iif xenbr0 to 10.7.0.0/24 lookup 100". */
export interface RulePlan {
  readonly family: 4 | 6;
  /** Fixed per rule: network.sh removes whatever holds it, then adds the rule (ip has no "rule replace"). */
  readonly pref: number;
  /** fwmark's value is "VALUE/MASK" (masked marks only, F36). */
  readonly match: { readonly kind: 'iif' | 'from' | 'to' | 'fwmark'; readonly value: string };
  /** A second selector with `match` (iif): "iif xenbr0 to 10.7.0.0/24". */
  readonly to?: string;
  /** 254 is iproute2's main table. */
  readonly table: number;
  /** ifupdown: the interface whose stanza adds the rule when it comes up. */
  readonly upWith: string;
  readonly source: string;
}

/** A routing table convergent numbers: rt_tables.d gives `ip` its name. */
export interface RoutingTablePlan {
  readonly id: number;
  readonly name: string;
  readonly source: string;
}

export interface SysctlPlan {
  /** Path segments, e.g. ["net", "ipv4", "conf", "eth1.100", "arp_announce"]: names may contain dots. */
  readonly key: readonly string[];
  readonly value: string;
  /** Rendered with a leading "-": skipped while the key's module is not loaded. */
  readonly optional?: boolean;
  readonly source: string;
}

/** An HTTP reverse proxy on the node: listens on bind, connects to backend from source. */
export interface ProxyPlan {
  readonly name: string;
  /** "192.168.122.11:8080" */
  readonly bind: string;
  readonly guest: string;
  /** "10.5.5.201:80" */
  readonly backend: string;
  /** The node's own guest-bridge address: the proxy never connects from the anycast gateway. */
  readonly from: string;
  readonly source: string;
}

/** conntrackd (strategy ctsync): FTFW or NOTRACK sync by multicast on one guest bridge, injecting directly. */
export interface ConntrackdPlan {
  /** The guest bridge the sync traffic uses, and this node's own address on it. */
  readonly interface: string;
  readonly address: string;
  readonly group: string;
  readonly port: number;
  readonly mode: 'ftfw' | 'notrack';
  /** The other nodes' addresses on the sync bridge, for the comment and the lab's observations. */
  readonly peers: readonly string[];
  readonly source: string;
}

/** Router advertisements on a node's routed guest taps (features/routed/ra.py): one /64 per routing table. */
export interface RouterAdvertisementsPlan {
  readonly networks: readonly {
    readonly table: number;
    /** The routed network's name, for the file's comments and the daemon's log. */
    readonly name: string;
    /** "2001:db8::/64" */
    readonly prefix: string;
    readonly source: string;
  }[];
}

export interface HostPlan {
  readonly cluster: string;
  readonly node: string;
  /** The node's NICs, bonds and VLANs, in bring-up order; bridges come after them. */
  readonly links: readonly LinkPlan[];
  readonly bridges: readonly BridgePlan[];
  /** In order: the first address of a device on a subnet is its primary address. */
  readonly addresses: readonly AddressPlan[];
  /** Main-table routes, then the routing tables' (guests' routed networks). */
  readonly routes: readonly RoutePlan[];
  readonly rules: readonly RulePlan[];
  readonly tables: readonly RoutingTablePlan[];
  readonly sysctls: readonly SysctlPlan[];
  /** Kernel modules the plan relies on (modules-load.d). */
  readonly modules: readonly { readonly name: string; readonly source: string }[];
  readonly ruleset: Ruleset;
  readonly proxies: readonly ProxyPlan[];
  readonly conntrackd?: ConntrackdPlan;
  /** Routed networks with subnet6: the guests' SLAAC. */
  readonly routerAdvertisements?: RouterAdvertisementsPlan;
  /** Deliberate mistakes compiled in for a lab demonstration (systems/faults.ts); normally empty. */
  readonly faults: readonly string[];
  /** What each of `faults` breaks, by name, filled at compile: render prints it atop the ruleset. */
  readonly faultDescriptions: FaultDescriptions;
}

/** A fault's name -> its description; render needs no table of faults of its own. */
export type FaultDescriptions = Readonly<Record<string, string>>;
