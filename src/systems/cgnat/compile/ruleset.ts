// The CGNAT router's nftables ruleset: one `table inet convergent`. Per packet it does a fixed number
// of hash lookups, whatever the number of tenants and subscribers:
//   raw prerouting     ct original zone set iifname map @tenant_zone   (the cure for seed 002)
//   mangle prerouting  new flows: ct mark = tenant; replies: meta mark = ct mark (ip rule -> tenant table)
//   filter forward     a tenant's IPv4 comes from its subscribers or its routed public prefixes;
//                      at most N connections per subscriber (nf_conncount)
//   nat postrouting    out of the uplink: snat to the subscriber's public address and port block
// With endpoint-independent filtering (RFC 4787), also:
//   postrouting        learn each mapping (public address . proto . port -> subscriber . port)
//   nat prerouting     anyone may send to a learned mapping: dnat to its subscriber
//   prerouting         such a flow is routed by the tenant owning the public port block
//   nat postrouting    hairpinning: a subscriber reaching another's mapping appears as its own

import { RulesetBuilder, type TableBuilder } from '../../../nft/builder.ts';
import {
  type Const,
  concat,
  ct,
  ctTuple,
  type DataType,
  type Element,
  eq,
  ip,
  l4,
  lookup,
  meta,
  PRIORITY,
  type Ruleset,
  type Statement,
} from '../../../nft/tree.ts';
import { formatIPv4, formatPrefix } from '../../../util/ipv4.ts';
import type { Cgnat, Tenant } from '../model.ts';
import { allBlocks } from './blocks.ts';

/** Where the router first meets a tenant's packets, and the device they are forwarded from. */
export interface TenantPorts {
  /** conntrack runs on this device's prerouting pass: the VRF's slave (the bridge), or the transit veth. */
  readonly zoneKey: (t: Tenant) => string;
  /** The input device in the forward hook: the VRF device, or the transit veth. */
  readonly forwardFrom: (t: Tenant) => string;
}

const mark = (t: Tenant) => ({ type: 'mark', value: t.index }) as const;
const device = (value: string) => ({ type: 'ifname', value }) as const;
const protocols = (...values: ('tcp' | 'udp' | 'icmp')[]): Statement => ({
  kind: 'match',
  left: meta('l4proto'),
  op: 'eq',
  right: { kind: 'anonymous-set', values: values.map((value) => ({ type: 'inet_proto', value })) },
});
const ipv4 = eq(meta('nfproto'), { type: 'nfproto', value: 'ipv4' });
const drop: Statement[] = [{ kind: 'counter' }, { kind: 'verdict', verdict: 'drop' }];
/** The original direction of a TCP or UDP flow we NATed (snat: out; dnat: in through a mapping).
 * The protocol match also lets nft type `ct original proto-dst` in a concatenation. */
const originalNated = (status: 'snat' | 'dnat'): Statement[] => [
  eq(ct('direction'), { type: 'ct_direction', value: 'original' }),
  eq(ct('status'), { type: 'ct_status', value: status }),
  ipv4,
  protocols('tcp', 'udp'),
];
/** snat to the subscriber's entry in a map keyed by tenant mark . subscriber. */
const snatBy = (map: string): Statement => ({
  kind: 'nat',
  type: 'snat',
  to: lookup(concat(ct('mark'), ip('saddr')), map),
});
/** How long a learned mapping outlives its last packet: RFC 4787 REQ-5 asks at least 2 min, 5 recommended. */
export const MAPPING_TIMEOUT = 300;

/** The ruleset, each part added under the spec field it comes from (named in lint errors). */
export function cgnatRuleset(c: Cgnat, ports: TenantPorts, options = { zones: true }): Ruleset {
  const nft = new RulesetBuilder(`CGNAT ${c.name}`);
  const table = nft.table(
    'inet',
    'convergent',
    `convergent CGNAT ${c.name}: ${c.tenants.length} tenant(s), ${c.nat.pool.length} public address(es)`,
  );
  const independent = c.nat.filtering === 'endpoint-independent';
  const { connections } = c.nat;
  nft.by('tenants', () => tenantSets(c, ports, table));
  nft.by('nat.pool', () => blockMaps(c, table));
  if (connections !== undefined) nft.by('nat.connections', () => connectionSet(table));
  if (independent) nft.by('nat.filtering', () => mappingSets(c, table));
  nft.by('tenants', () => tenantChains(table, options.zones));
  if (connections !== undefined) nft.by('nat.connections', () => connectionRule(table, connections));
  nft.by('nat.pool', () => uplinkNat(c, table));
  if (independent) nft.by('nat.filtering', () => mappingChains(table));
  return nft.freeze();
}

/** A map with one element per tenant, keyed by the device conntrack first sees its packets on. */
function perTenant(c: Cgnat, ports: TenantPorts, value: (t: Tenant) => Const): Element[] {
  return c.tenants.map((t) => ({
    key: [device(ports.zoneKey(t))],
    value: [value(t)],
    comment: `tenant ${t.name}`,
  }));
}

function tenantSets(c: Cgnat, ports: TenantPorts, table: TableBuilder): void {
  const byDevice = (name: string, comment: string, value: DataType, typeOf?: string) => ({
    name,
    comment,
    ...(typeOf ? { typeof: typeOf } : {}),
    key: ['ifname'] as const,
    value: [value],
    interval: false,
  });
  table.set({
    ...byDevice(
      'tenant_zone',
      'tenant -> conntrack zone, by the device conntrack first sees its packets on',
      'ct_zone',
      'iifname : ct zone',
    ),
    elements: perTenant(c, ports, (t) => ({ type: 'ct_zone', value: t.index })),
  });
  table.set({
    ...byDevice(
      'tenant_mark',
      "tenant -> connection mark; the mark is also the tenant's ip rule (fwmark -> its table)",
      'mark',
    ),
    elements: perTenant(c, ports, mark),
  });
  table.set({
    name: 'tenant_sources',
    comment:
      'the IPv4 sources a tenant may forward from: its subscribers and the public prefixes routed to it',
    key: ['ifname', 'ipv4_addr'],
    interval: true,
    elements: c.tenants.flatMap((t) =>
      [...t.subscribers, ...t.routes.map((r) => r.to)].map((p) => ({
        key: [device(ports.forwardFrom(t)), { type: 'ipv4_addr', value: formatPrefix(p) }],
      })),
    ),
  });
  table.set({
    name: 'tenant_ifaces',
    comment: 'the devices tenants forward from',
    key: ['ifname'],
    interval: false,
    elements: c.tenants.map((t) => ({ key: [device(ports.forwardFrom(t))], comment: `tenant ${t.name}` })),
  });
}

function blockMaps(c: Cgnat, table: TableBuilder): void {
  const elements = blockElements(c);
  table.set({
    name: 'port_blocks',
    comment: 'tenant mark . subscriber -> public address . port block (RFC 7422; cgnat lookup inverts it)',
    notes: [
      `${c.nat.pool.length} public address(es) x ${c.nat.blocksPerAddress} blocks of ${c.nat.block} ports, from port ${c.nat.firstPort}: block i is subscriber i in spec order`,
    ],
    key: ['mark', 'ipv4_addr'],
    value: ['ipv4_addr', 'inet_service'],
    intervalValue: true,
    interval: false,
    elements: elements.blocks,
  });
  table.set({
    name: 'subscriber_address',
    comment: 'tenant mark . subscriber -> public address, for protocols without ports (GRE, ESP)',
    key: ['mark', 'ipv4_addr'],
    value: ['ipv4_addr'],
    interval: false,
    elements: elements.addresses,
  });
}

function connectionSet(table: TableBuilder): void {
  table.set({
    name: 'subscriber_conns',
    comment: 'connections per subscriber, counted by nf_conncount',
    key: ['mark', 'ipv4_addr'],
    interval: false,
    dynamic: { size: 1_048_576 },
    elements: [],
  });
}

function tenantChains(table: TableBuilder, zones: boolean): void {
  if (zones) {
    table.chain(
      'tenant-zone',
      'one conntrack zone per tenant (seed 002: identical tuples of two tenants met in one zone)',
      { type: 'filter', hook: 'prerouting', priority: PRIORITY.raw, policy: 'accept' },
      [
        'Original direction only: a reply, already NATed to a unique public port, is looked up in the',
        'default zone. Keyed on the device conntrack first sees (the VRF slave, not the VRF device):',
        "on the VRF device's pass the flow is already tracked and a zone would come too late.",
      ],
    );
    table.rule('tenant-zone', 'a tenant packet enters its tenant zone', {
      kind: 'set-field',
      field: { kind: 'ct', key: 'zone', direction: 'original' },
      value: lookup(meta('iifname'), 'tenant_zone'),
    });
  }
  table.chain(
    'tenant-mark',
    "remember each flow's tenant, and route its replies back to that tenant",
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.mangle, policy: 'accept' },
    [
      'After de-NAT a reply is addressed to a subscriber address several tenants may have: the',
      "mark selects the tenant's routing table (ip rule fwmark T lookup <tenant table>).",
    ],
  );
  table.rule(
    'tenant-mark',
    'a new flow from a tenant carries its tenant',
    eq(ct('state'), { type: 'ct_state', value: ['new'] }),
    {
      kind: 'set-field',
      field: ct('mark'),
      value: lookup(meta('iifname'), 'tenant_mark'),
    },
  );
  table.rule(
    'tenant-mark',
    "its replies are routed by that tenant's table",
    eq(ct('direction'), { type: 'ct_direction', value: 'reply' }),
    {
      kind: 'set-field',
      field: meta('mark'),
      value: ct('mark'),
    },
  );
  table.chain('tenant-forward', 'what a tenant may send through the router', {
    type: 'filter',
    hook: 'forward',
    priority: PRIORITY.filter,
    policy: 'accept',
  });
  table.rule(
    'tenant-forward',
    'IPv4 from a tenant comes from its subscribers or its routed public prefixes: nothing else is NATed or routed',
    ipv4,
    { kind: 'match-set', left: meta('iifname'), set: 'tenant_ifaces' },
    { kind: 'match-set', left: concat(meta('iifname'), ip('saddr')), set: 'tenant_sources', negate: true },
    ...drop,
  );
}

function connectionRule(table: TableBuilder, limit: number): void {
  table.rule(
    'tenant-forward',
    `a subscriber holds at most ${limit} connections (nat.connections)`,
    eq(ct('state'), { type: 'ct_state', value: ['new'] }),
    ipv4,
    { kind: 'match-set', left: meta('iifname'), set: 'tenant_ifaces' },
    { kind: 'count-over', set: 'subscriber_conns', key: concat(ct('mark'), ip('saddr')), limit },
    ...drop,
  );
}

function uplinkNat(c: Cgnat, table: TableBuilder): void {
  table.chain(
    'uplink-nat',
    'subscribers leave the uplink from their public address and port block',
    { type: 'nat', hook: 'postrouting', priority: PRIORITY.srcnat, policy: 'accept' },
    [
      "Matched on the uplink interface itself: with VRFs the nat chain sees only the lower device's",
      "pass (the VRF device's is untracked). A public prefix routed to a client has no block and",
      'leaves as it is. Being an inet table, it registers NAT for IPv6 too, which keeps clashing',
      'reply tuples reallocated (T6097).',
    ],
  );
  const uplink = eq(meta('oifname'), device(c.uplink.interface));
  table.rule(
    'uplink-nat',
    "TCP, UDP and ICMP: the subscriber's port block (ICMP ids too)",
    uplink,
    ipv4,
    protocols('tcp', 'udp', 'icmp'),
    snatBy('port_blocks'),
  );
  table.rule(
    'uplink-nat',
    "other protocols: the subscriber's public address",
    uplink,
    ipv4,
    snatBy('subscriber_address'),
  );
}

/** Endpoint-independent filtering: the mappings learned from traffic, the pool, and who owns a port. */
function mappingSets(c: Cgnat, table: TableBuilder): void {
  const ports = c.nat.blocksPerAddress * c.nat.block;
  table.set({
    name: 'nat_pool',
    comment: 'the public addresses (nat.pool)',
    key: ['ipv4_addr'],
    interval: false,
    elements: c.nat.pool.map((a) => ({ key: [{ type: 'ipv4_addr', value: formatIPv4(a) }] })),
  });
  table.set({
    name: 'mappings',
    comment: 'public address . protocol . port -> subscriber . port, learned as subscribers send',
    notes: ['A stale entry can only lead to the subscriber that owns the port block: blocks are fixed.'],
    key: ['ipv4_addr', 'inet_proto', 'inet_service'],
    value: ['ipv4_addr', 'inet_service'],
    interval: false,
    // Every public port of the pool, for TCP and UDP, at most 16M.
    dynamic: { size: Math.min(c.nat.pool.length * ports * 2, 16_777_216), timeout: MAPPING_TIMEOUT },
    elements: [],
  });
  table.set({
    name: 'block_tenant',
    comment: 'public address . port -> the tenant owning that port block (its mark routes to its table)',
    key: ['ipv4_addr', 'inet_service'],
    value: ['mark'],
    interval: true,
    elements: tenantRanges(c),
  });
}

/** Hairpinning, learning each mapping, and letting anyone reach it. */
function mappingChains(table: TableBuilder): void {
  table.rule(
    'uplink-nat',
    "hairpinning: a subscriber sending to another's mapping appears from its own (RFC 4787 REQ-9)",
    eq(ct('status'), { type: 'ct_status', value: 'dnat' }),
    ipv4,
    protocols('tcp', 'udp'),
    snatBy('port_blocks'),
  );
  table.chain(
    'learn-mapping',
    "remember each subscriber's public address and port while it sends",
    { type: 'filter', hook: 'postrouting', priority: PRIORITY.srcnat + 1, policy: 'accept' },
    [
      'After srcnat: the packet already has its public source, so the subscriber side is taken from',
      "conntrack's original tuple. Every packet refreshes the entry's timeout.",
    ],
  );
  table.rule('learn-mapping', 'a NATed TCP or UDP flow from a subscriber', ...originalNated('snat'), {
    kind: 'update',
    set: 'mappings',
    key: concat(ctTuple('reply', 'ip daddr'), meta('l4proto'), ctTuple('reply', 'proto-dst')),
    value: concat(ctTuple('original', 'ip saddr'), ctTuple('original', 'proto-src')),
  });
  inboundChains(table);
}

function inboundChains(table: TableBuilder): void {
  table.chain(
    'inbound-mapping',
    "anyone may send to a subscriber's mapping (endpoint-independent filtering, RFC 4787 REQ-8)",
    { type: 'nat', hook: 'prerouting', priority: PRIORITY.dstnat, policy: 'accept' },
    ['Only new flows reach a nat chain: replies to the subscriber are de-NATed by conntrack.'],
  );
  table.rule(
    'inbound-mapping',
    'a new flow to a public address and port a subscriber is sending from',
    ipv4,
    { kind: 'match-set', left: ip('daddr'), set: 'nat_pool' },
    protocols('tcp', 'udp'),
    {
      kind: 'nat',
      type: 'dnat',
      to: lookup(concat(ip('daddr'), meta('l4proto'), l4('th', 'dport')), 'mappings'),
    },
  );
  table.chain(
    'inbound-tenant',
    'route an inbound flow by the tenant owning the public port (its table has the subscriber)',
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.dstnat + 10, policy: 'accept' },
  );
  table.rule(
    'inbound-tenant',
    "its packets toward the subscriber carry the owner's mark (replies keep the sender's: ct mark)",
    ...originalNated('dnat'),
    {
      kind: 'set-field',
      field: meta('mark'),
      value: lookup(
        concat(ctTuple('original', 'ip daddr'), ctTuple('original', 'proto-dst')),
        'block_tenant',
      ),
    },
  );
}

/** Each tenant's blocks as ranges: subscribers are numbered tenant by tenant, so a tenant's blocks
 * are consecutive, one range per public address they touch. */
function tenantRanges(c: Cgnat): Element[] {
  const { nat } = c;
  const out: Element[] = [];
  for (const t of c.tenants) {
    if (t.subscriberCount === 0) continue;
    const last = t.firstSubscriber + t.subscriberCount - 1;
    for (
      let slot = Math.floor(t.firstSubscriber / nat.blocksPerAddress);
      slot <= Math.floor(last / nat.blocksPerAddress);
      slot++
    ) {
      const from = Math.max(t.firstSubscriber, slot * nat.blocksPerAddress) % nat.blocksPerAddress;
      const to = Math.min(last, (slot + 1) * nat.blocksPerAddress - 1) % nat.blocksPerAddress;
      out.push({
        key: [
          { type: 'ipv4_addr', value: formatIPv4(nat.pool[slot] as number) },
          {
            type: 'port_range',
            value: [nat.firstPort + from * nat.block, nat.firstPort + (to + 1) * nat.block - 1],
          },
        ],
        value: [mark(t)],
        comment: `tenant ${t.name}`,
      });
    }
  }
  return out;
}

/** Both maps' elements in one pass over the blocks (100,000 subscribers: 100,000 each). */
function blockElements(c: Cgnat): { blocks: Element[]; addresses: Element[] } {
  const tenants = new Map(c.tenants.map((t) => [t.name, t]));
  const blocks: Element[] = [];
  const addresses: Element[] = [];
  for (const b of allBlocks(c)) {
    const key = [
      mark(tenants.get(b.tenant) as Tenant),
      { type: 'ipv4_addr', value: formatIPv4(b.subscriber) },
    ] as const;
    const pub = { type: 'ipv4_addr', value: formatIPv4(b.public) } as const;
    blocks.push({ key, value: [pub, { type: 'port_range', value: [b.firstPort, b.lastPort] }] });
    addresses.push({ key, value: [pub] });
  }
  return { blocks, addresses };
}
