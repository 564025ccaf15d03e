// The nftables ruleset as a typed tree. Compile builds it, render prints it, and the packet
// simulator will evaluate it: rule expressions are data (matches, statements, verdicts), never text.

export type Family = 'ip' | 'ip6' | 'inet' | 'netdev' | 'bridge' | 'arp';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

/** Element types of sets and maps, as nft names them. */
export type DataType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'mark'
  | 'ether_addr'
  | 'ifname'
  | 'ct_zone'
  | 'classid'
  | 'verdict';

/** A constant, typed so that render and the simulator agree on its meaning. */
export type Const =
  | { readonly type: 'ipv4_addr'; readonly value: string } // "10.5.5.1" or "10.5.5.0/24" in interval sets
  | { readonly type: 'ipv6_addr'; readonly value: string } // "fe80::1" or "::"
  | { readonly type: 'inet_proto'; readonly value: 'tcp' | 'udp' | 'icmp' | 'ipv6-icmp' }
  | { readonly type: 'ether_type'; readonly value: EtherTypeName }
  | {
      readonly type: 'icmpv6_type';
      readonly value:
        | 'nd-router-solicit'
        | 'nd-router-advert'
        | 'nd-neighbor-solicit'
        | 'nd-neighbor-advert'
        | 'nd-redirect'
        | 'mld2-listener-report';
    }
  | { readonly type: 'arp_op'; readonly value: 'request' | 'reply' }
  | { readonly type: 'tcp_flags'; readonly value: readonly TcpFlag[] } // (fin|syn): any of them
  | { readonly type: 'nfproto'; readonly value: 'ipv4' | 'ipv6' }
  | { readonly type: 'port_range'; readonly value: readonly [number, number] } // 1024-2047
  | { readonly type: 'ct_zone'; readonly value: number }
  | { readonly type: 'inet_service'; readonly value: number }
  | { readonly type: 'mark'; readonly value: number }
  // A packet's priority (skb->priority) as nft writes it, major:minor in hex ("0:2")
  | { readonly type: 'classid'; readonly value: number }
  | { readonly type: 'ether_addr'; readonly value: string }
  | { readonly type: 'ifname'; readonly value: string }
  | { readonly type: 'ct_direction'; readonly value: 'original' | 'reply' }
  | { readonly type: 'ct_status'; readonly value: 'dnat' | 'snat' }
  | { readonly type: 'fib_addrtype'; readonly value: 'local' }
  | { readonly type: 'ct_state'; readonly value: readonly CtState[] } // any of them
  | { readonly type: 'verdict'; readonly value: string }; // a verdict map's value: jump <chain>

export type TcpFlag = 'fin' | 'syn' | 'rst' | 'psh' | 'ack' | 'urg';

export type CtState = 'invalid' | 'new' | 'established' | 'related' | 'untracked';

/** meta keys read or written; priority is skb->priority, which ip_forward resets from the TOS. */
export type MetaKey = 'iifname' | 'oifname' | 'mark' | 'l4proto' | 'nfproto' | 'priority';

/** Packet fields a rule reads or writes. */
export type Field =
  | { readonly kind: 'meta'; readonly key: MetaKey }
  | { readonly kind: 'ct'; readonly key: 'mark' | 'direction' | 'status' | 'state' }
  // Set in the original direction only: the reply, NATed, must be found in the default zone.
  | { readonly kind: 'ct'; readonly key: 'zone'; readonly direction: 'original' }
  // A connection's tuple as conntrack keeps it (ct original ip saddr): unchanged by NAT of the packet.
  | {
      readonly kind: 'ct-tuple';
      readonly direction: 'original' | 'reply';
      readonly key: 'ip saddr' | 'ip daddr' | 'proto-src' | 'proto-dst';
    }
  // The type the routing table gives the destination (fib daddr type): local = one of the node's own.
  | { readonly kind: 'fib'; readonly key: 'daddr type' }
  | { readonly kind: 'payload'; readonly header: 'ip'; readonly field: 'saddr' | 'daddr' }
  | { readonly kind: 'payload'; readonly header: 'tcp' | 'udp' | 'th'; readonly field: 'sport' | 'dport' }
  | { readonly kind: 'payload'; readonly header: 'ip6'; readonly field: 'saddr' | 'daddr' }
  | { readonly kind: 'payload'; readonly header: 'tcp'; readonly field: 'flags' }
  | { readonly kind: 'payload'; readonly header: 'icmpv6'; readonly field: 'type' }
  | { readonly kind: 'payload'; readonly header: 'ether'; readonly field: 'saddr' | 'daddr' | 'type' }
  | {
      readonly kind: 'payload';
      readonly header: 'arp';
      readonly field: 'saddr ip' | 'daddr ip' | 'saddr ether' | 'operation';
    };

/** Values: fields, constants, and the expressions built from them. */
export type Expr =
  | Field
  | { readonly kind: 'const'; readonly value: Const }
  | { readonly kind: 'concat'; readonly parts: readonly Expr[] }
  // value & mask, or value & mask | or: a mark's own bits kept, the rest set (F36)
  | { readonly kind: 'mask'; readonly value: Expr; readonly mask: Const; readonly or?: Const }
  | { readonly kind: 'lookup'; readonly key: Expr; readonly map: string } // key map @map
  | { readonly kind: 'anonymous-set'; readonly values: readonly Const[] }; // { tcp, udp }

export type Statement =
  | { readonly kind: 'match'; readonly left: Expr; readonly op: 'eq' | 'ne'; readonly right: Expr }
  | { readonly kind: 'match-set'; readonly left: Expr; readonly set: string; readonly negate?: boolean }
  | { readonly kind: 'set-field'; readonly field: Field; readonly value: Expr }
  | { readonly kind: 'nat'; readonly type: 'snat' | 'dnat'; readonly to: Expr }
  | { readonly kind: 'counter' }
  // add @set { key ct count over limit }: true while key has more than `limit` connections (nf_conncount)
  | { readonly kind: 'count-over'; readonly set: string; readonly key: Expr; readonly limit: number }
  // update @map { key : value } (or @set { key }): add the element or refresh its timeout (learned from traffic)
  | { readonly kind: 'update'; readonly set: string; readonly key: Expr; readonly value?: Expr }
  | { readonly kind: 'notrack' }
  // dup to ADDRESS: a copy sent with ADDRESS as next hop (untracked), the packet itself goes on
  | { readonly kind: 'dup'; readonly to: Expr }
  // key vmap @map: the verdict the map holds for the key (jump to a chain); no element, no verdict
  | { readonly kind: 'vmap'; readonly key: Expr; readonly map: string }
  | { readonly kind: 'verdict'; readonly verdict: 'accept' | 'drop' | 'return' }
  | { readonly kind: 'goto' | 'jump'; readonly chain: string };

export interface Rule {
  readonly statements: readonly Statement[];
  readonly comment: string;
}

export interface BaseChain {
  readonly type: 'filter' | 'nat' | 'route';
  readonly hook: Hook;
  readonly priority: number;
  readonly devices?: readonly string[];
  readonly policy: 'accept' | 'drop';
}

export interface Chain {
  readonly name: string;
  readonly comment: string;
  /** Why the chain is there and placed where it is; rendered as # lines above it. */
  readonly notes?: readonly string[];
  readonly base?: BaseChain;
  readonly rules: readonly Rule[];
}

export interface Element {
  readonly key: readonly Const[];
  readonly value?: readonly Const[];
  readonly comment?: string;
}

/** A named set (no value types) or map (with value types). */
export interface NamedSet {
  readonly name: string;
  readonly comment: string;
  readonly notes?: readonly string[];
  readonly key: readonly DataType[];
  readonly value?: readonly DataType[];
  /** The map's data are ranges ("interval ipv4_addr . inet_service"): NAT to an address and a port block. */
  readonly intervalValue?: boolean;
  /** Declared by expression ("typeof iifname : ct zone") where nft has no type name. */
  readonly typeof?: string;
  readonly interval: boolean;
  /** Filled by the ruleset itself (add/update @set), up to `size` entries, each kept `timeout` seconds. */
  readonly dynamic?: { readonly size: number; readonly timeout?: number };
  /**
   * `nic up` adds elements at run time (a plugged tap's): an apply that replaces the table keeps the
   * live ones, or it would unplug every guest.
   */
  readonly filledBy?: 'nic';
  readonly elements: readonly Element[];
}

export interface Table {
  readonly family: Family;
  readonly name: string;
  readonly comment: string;
  readonly sets: readonly NamedSet[];
  readonly chains: readonly Chain[];
}

export interface Ruleset {
  readonly tables: readonly Table[];
}

/** A set declared empty, filled at run time by `nic up` (a plugged tap's elements). */
export const FILLED_BY_NIC = { interval: false, filledBy: 'nic', elements: [] } as const;

/** Standard hook priorities (nft's named priorities for the ip families; conntrack sits at -200). */
export const PRIORITY = {
  raw: -300,
  conntrack: -200,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
} as const;

// Small constructors, so that compile code reads like the rules it builds.
export const meta = (key: MetaKey): Field => ({
  kind: 'meta',
  key,
});
export const ct = (key: 'mark' | 'direction' | 'status' | 'state'): Field => ({ kind: 'ct', key });
export const ctTuple = (
  direction: 'original' | 'reply',
  key: 'ip saddr' | 'ip daddr' | 'proto-src' | 'proto-dst',
): Field => ({ kind: 'ct-tuple', direction, key });
export const fib = (key: 'daddr type'): Field => ({ kind: 'fib', key });
export const ip = (field: 'saddr' | 'daddr'): Field => ({ kind: 'payload', header: 'ip', field });
export const l4 = (header: 'tcp' | 'udp' | 'th', field: 'sport' | 'dport'): Field => ({
  kind: 'payload',
  header,
  field,
});
export const ip6 = (field: 'saddr' | 'daddr'): Field => ({ kind: 'payload', header: 'ip6', field });
export const ether = (field: 'saddr' | 'daddr' | 'type'): Field => ({
  kind: 'payload',
  header: 'ether',
  field,
});
export const arp = (field: 'saddr ip' | 'daddr ip' | 'saddr ether' | 'operation'): Field => ({
  kind: 'payload',
  header: 'arp',
  field,
});
export const konst = (value: Const): Expr => ({ kind: 'const', value });
export const concat = (...parts: Expr[]): Expr => ({ kind: 'concat', parts });
export const lookup = (key: Expr, map: string): Expr => ({ kind: 'lookup', key, map });

export const eq = (left: Expr, right: Const): Statement => ({
  kind: 'match',
  left,
  op: 'eq',
  right: konst(right),
});
export const ne = (left: Expr, right: Const): Statement => ({
  kind: 'match',
  left,
  op: 'ne',
  right: konst(right),
});
export const inSet = (left: Expr, set: string): Statement => ({ kind: 'match-set', left, set });
export const notInSet = (left: Expr, set: string): Statement => ({
  kind: 'match-set',
  left,
  set,
  negate: true,
});
export const vmap = (key: Expr, map: string): Statement => ({ kind: 'vmap', key, map });
export const setField = (field: Field, value: Expr): Statement => ({ kind: 'set-field', field, value });
export const counter: Statement = { kind: 'counter' };
/** `tcp flags & (fin|syn|rst|ack) != syn`: TCP that is not a lone SYN, i.e. not a new connection. */
export const notLoneSyn: Statement = {
  kind: 'match',
  left: {
    kind: 'mask',
    value: { kind: 'payload', header: 'tcp', field: 'flags' },
    mask: { type: 'tcp_flags', value: ['fin', 'syn', 'rst', 'ack'] },
  },
  op: 'ne',
  right: konst({ type: 'tcp_flags', value: ['syn'] }),
};
export const notrack: Statement = { kind: 'notrack' };

// Typed constants.
export const v4 = (value: string): Const => ({ type: 'ipv4_addr', value });
export const proto = (value: 'tcp' | 'udp'): Const => ({ type: 'inet_proto', value });
export const service = (value: number): Const => ({ type: 'inet_service', value });
export const mark = (value: number): Const => ({ type: 'mark', value });
export const classid = (value: number): Const => ({ type: 'classid', value });
export const etherAddr = (value: string): Const => ({ type: 'ether_addr', value });
export const v6 = (value: string): Const => ({ type: 'ipv6_addr', value });
/** nft's names of the ethertypes we match: 8021q and 8021ad are VLAN tags (C-tag, S-tag). */
export type EtherTypeName = 'ip' | 'ip6' | 'arp' | '8021q' | '8021ad';
export const etherType = (value: EtherTypeName): Const => ({ type: 'ether_type', value });
export const ifname = (value: string): Const => ({ type: 'ifname', value });
export const ctState = (...value: CtState[]): Const => ({ type: 'ct_state', value });
export const drop: Statement = { kind: 'verdict', verdict: 'drop' };
