// The resolved CGNAT spec: what it means once defaults are in, names looked up and addresses parsed.
// Compile, the port-block arithmetic and the lab read this, never the raw spec.

import type { SpecPath } from '../../input/problem.ts';
import type { Address, Cidr } from '../../util/ip.ts';
import type { Prefix } from '../../util/ipv4.ts';

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

export interface CgnatCheck {
  readonly name: string;
  readonly from: readonly string[];
  readonly to: Address;
  /** nat: mapping: the other destinations, dialled from the same source port after `to`. */
  readonly alsoTo?: readonly Address[];
  readonly nat?: 'mapping' | 'filtering' | 'limit';
  /** nat: filtering: who sends to the public address and port the first leg got. */
  readonly inbound?: { readonly from: string; readonly source?: Address };
  readonly proto: 'ping' | 'tcp' | 'udp';
  readonly port?: number;
  readonly source?: Address;
  readonly sourcePort?: number;
  readonly expect: { readonly reaches: boolean; readonly sees?: 'nat' | Address };
  readonly path: SpecPath;
}
