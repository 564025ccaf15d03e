// Port blocks in the ruleset: each subscriber's public address and block (blocks.ts computes them) as
// maps, and the SNAT out of the uplink that uses them.
import type { TableBuilder } from '../../../nft/builder.ts';
import { type Element, eq, meta, PRIORITY } from '../../../nft/tree.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { Cgnat, Tenant } from '../model.ts';
import { allBlocks } from './blocks.ts';
import { device, ipv4, jumpTo, mark, protocols, routeChain, snatBy } from './matches.ts';

export function blockMaps(c: Cgnat, table: TableBuilder): void {
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

export function uplinkNat(c: Cgnat, table: TableBuilder): void {
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
    snatBy('port_blocks', c.marks.mask),
  );
  table.rule(
    'uplink-nat',
    "other protocols: the subscriber's public address",
    uplink,
    ipv4,
    snatBy('subscriber_address', c.marks.mask),
  );
}

/** Each tenant's blocks as ranges: subscribers are numbered tenant by tenant, so a tenant's blocks
 * are consecutive, one range per public address they touch. */
export function tenantRanges(c: Cgnat): Element[] {
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
        value: [jumpTo(routeChain(t))],
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
