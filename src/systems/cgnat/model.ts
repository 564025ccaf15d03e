// The resolved CGNAT spec: what it means once defaults are in, names looked up and addresses parsed.
// Compile, the port-block arithmetic and the lab read this, never the raw spec.

import type { SpecPath } from '../../input/problem.ts';
import type { Address, Cidr } from '../../util/ip.ts';
import type { Prefix } from '../../util/ipv4.ts';
import type { Marks } from '../marks/model.ts';

export type Backend = 'vrf' | 'netns';

export interface Cgnat {
  readonly name: string;
  readonly backend: Backend;
  readonly router: string;
  readonly uplink: {
    readonly vrf: string;
    readonly interface: string;
    readonly addresses: readonly Cidr[];
    readonly gateways: readonly Address[];
  };
  readonly nat: Nat;
  /** In spec order: a tenant's index (1..) is its conntrack zone, its mark and its routing table. */
  readonly tenants: readonly Tenant[];
  /** The bits of the marks the tenants' indexes are spread into. */
  readonly marks: Marks;
  readonly peer: Peer;
  /** The spec's lab checks; undefined when it has none. */
  readonly checks?: readonly CgnatCheck[];
}

export interface Nat {
  /** Public IPv4 addresses, in order: blocks fill the first address, then the next. */
  readonly pool: readonly number[];
  readonly firstPort: number;
  readonly lastPort: number;
  /** Ports per subscriber. */
  readonly block: number;
  readonly blocksPerAddress: number;
  readonly connections?: number;
  /** RFC 4787 filtering: endpoint-independent adds the learned mappings (and hairpinning). */
  readonly filtering: 'endpoint-independent' | 'address-and-port-dependent';
}

export interface Tenant {
  readonly name: string;
  /** 1..n in spec order. */
  readonly index: number;
  /** The index spread into marks.mask: its packets' and flows' mark, under that mask. */
  readonly mark: number;
  readonly bridge: string;
  readonly gateways: readonly Cidr[];
  /** The subscriber prefixes in spec order; their addresses are numbered in that order. */
  readonly subscribers: readonly Prefix[];
  /** The number of the tenant's first subscriber among all tenants' (the blocks are handed out in this order). */
  readonly firstSubscriber: number;
  readonly subscriberCount: number;
  readonly routes: readonly { readonly to: Prefix; readonly client: string }[];
  readonly clients: readonly Client[];
  readonly path: SpecPath;
}

export interface Client {
  readonly name: string;
  readonly tenant: string;
  readonly addresses: readonly Address[];
}

export interface Peer {
  readonly name: string;
  readonly interface: string;
  readonly addresses: readonly Cidr[];
}

/** What every check has: a name, the address dialled, what must happen, and where the spec says it. */
interface CheckBase {
  readonly name: string;
  readonly to: Address;
  readonly expect: { readonly reaches: boolean; readonly sees?: 'nat' | Address };
  readonly path: SpecPath;
}

/** ping from each client at once (the router's own from its uplink VRF). */
export interface PingCheck extends CheckBase {
  readonly kind: 'ping';
  readonly proto: 'ping';
  readonly from: readonly string[];
  /** Bind the client to this address (ping -I). */
  readonly source?: Address;
}

/** One TCP or UDP exchange from each client at once. */
export interface FlowCheck extends CheckBase {
  readonly kind: 'flow';
  readonly proto: 'tcp' | 'udp';
  readonly from: readonly string[];
  readonly port: number;
  readonly source?: Address;
  readonly sourcePort?: number;
}

/** A NAT behaviour (`nat:`): from one client, over TCP or UDP. */
interface NatCheckBase extends CheckBase {
  readonly proto: 'tcp' | 'udp';
  readonly from: string;
  readonly port: number;
}

/** nat: mapping: one source port to `to` and then to every `alsoTo` keeps one public address and port. */
export interface MappingCheck extends NatCheckBase {
  readonly kind: 'mapping';
  readonly alsoTo: readonly Address[];
  readonly sourcePort?: number;
}

/** nat: filtering: once the client has sent, `inbound.from` reaches it through the mapping it got. */
export interface FilteringCheck extends NatCheckBase {
  readonly kind: 'filtering';
  readonly inbound: { readonly from: string; readonly source?: Address };
  readonly sourcePort?: number;
}

/** nat: limit: the client gets as many flows as its limit, and the one after them fails. */
export interface LimitCheck extends NatCheckBase {
  readonly kind: 'limit';
}

export type NatCheck = MappingCheck | FilteringCheck | LimitCheck;
/** A lab check of the CGNAT spec, by kind: a probe (ping or flow) or a NAT behaviour. */
export type CgnatCheck = PingCheck | FlowCheck | NatCheck;
