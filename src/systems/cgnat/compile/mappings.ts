// Endpoint-independent filtering (RFC 4787): mappings learned from traffic, anyone may reach a
// learned mapping, such a flow is routed by the tenant owning the port, and hairpinning.
import type { TableBuilder } from '../../../nft/builder.ts';
import { concat, ct, ctTuple, eq, ip, l4, lookup, meta, PRIORITY } from '../../../nft/tree.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { Cgnat } from '../model.ts';
import { tenantRanges } from './block-nat.ts';
import { ipv4, originalNated, protocols, snatBy } from './matches.ts';

/** How long a learned mapping outlives its last packet: RFC 4787 REQ-5 asks at least 2 min, 5 recommended. */
export const MAPPING_TIMEOUT = 300;

/** Endpoint-independent filtering: the mappings learned from traffic, the pool, and who owns a port. */
export function mappingSets(c: Cgnat, table: TableBuilder): void {
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
    comment: 'public address . port -> the tenant owning that port block: its route chain sets its mark',
    key: ['ipv4_addr', 'inet_service'],
    value: ['verdict'],
    interval: true,
    elements: tenantRanges(c),
  });
}

/** Hairpinning, learning each mapping, and letting anyone reach it. */
export function mappingChains(c: Cgnat, table: TableBuilder): void {
  table.rule(
    'uplink-nat',
    "hairpinning: a subscriber sending to another's mapping appears from its own (RFC 4787 REQ-9)",
    eq(ct('status'), { type: 'ct_status', value: 'dnat' }),
    ipv4,
    protocols('tcp', 'udp'),
    snatBy('port_blocks', c.marks.mask),
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
      kind: 'vmap',
      key: concat(ctTuple('original', 'ip daddr'), ctTuple('original', 'proto-dst')),
      map: 'block_tenant',
    },
  );
}
