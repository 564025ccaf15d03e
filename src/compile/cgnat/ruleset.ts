// The CGNAT router's nftables ruleset: one `table inet convergent`. Per packet it does a fixed number
// of hash lookups, whatever the number of tenants and subscribers:
//   raw prerouting     ct original zone set iifname map @tenant_zone   (the cure for seed 002)
//   mangle prerouting  new flows: ct mark = tenant; replies: meta mark = ct mark (ip rule -> tenant table)
//   filter forward     a tenant's IPv4 comes from its subscribers or its routed public prefixes;
//                      at most N connections per subscriber (nf_conncount)
//   nat postrouting    out of the uplink: snat to the subscriber's public address and port block

import {
  type Chain,
  concat,
  ct,
  type Element,
  eq,
  ip,
  lookup,
  meta,
  type NamedSet,
  PRIORITY,
  type Rule,
  type Ruleset,
  type Statement,
} from '../../plan/nft.ts';
import type { Cgnat, Tenant } from '../../spec/cgnat/model.ts';
import { formatIPv4, formatPrefix } from '../../util/ipv4.ts';
import { allBlocks } from './blocks.ts';

/** Where the router first meets a tenant's packets, and the device they are forwarded from. */
export interface TenantPorts {
  /** conntrack runs on this device's prerouting pass: the VRF's slave (the bridge), or the transit veth. */
  readonly zoneKey: (t: Tenant) => string;
  /** The input device in the forward hook: the VRF device, or the transit veth. */
  readonly forwardFrom: (t: Tenant) => string;
}

const rule = (comment: string, ...statements: Statement[]): Rule => ({ statements, comment });
const mark = (t: Tenant) => ({ type: 'mark', value: t.index }) as const;

export function cgnatRuleset(c: Cgnat, ports: TenantPorts, options = { zones: true }): Ruleset {
  const elements = blockElements(c);
  const sets: NamedSet[] = [
    {
      name: 'tenant_zone',
      comment: 'tenant -> conntrack zone, by the device conntrack first sees its packets on',
      typeof: 'iifname : ct zone',
      key: ['ifname'],
      value: ['ct_zone'],
      interval: false,
      elements: c.tenants.map((t) => ({
        key: [{ type: 'ifname', value: ports.zoneKey(t) }],
        value: [{ type: 'ct_zone', value: t.index }],
        comment: `tenant ${t.name}`,
      })),
    },
    {
      name: 'tenant_mark',
      comment: "tenant -> connection mark; the mark is also the tenant's ip rule (fwmark -> its table)",
      key: ['ifname'],
      value: ['mark'],
      interval: false,
      elements: c.tenants.map((t) => ({
        key: [{ type: 'ifname', value: ports.zoneKey(t) }],
        value: [mark(t)],
        comment: `tenant ${t.name}`,
      })),
    },
    {
      name: 'tenant_sources',
      comment:
        'the IPv4 sources a tenant may forward from: its subscribers and the public prefixes routed to it',
      key: ['ifname', 'ipv4_addr'],
      interval: true,
      elements: c.tenants.flatMap((t) =>
        [...t.subscribers, ...t.routes.map((r) => r.to)].map((p) => ({
          key: [
            { type: 'ifname', value: ports.forwardFrom(t) },
            { type: 'ipv4_addr', value: formatPrefix(p) },
          ],
        })),
      ),
    },
    {
      name: 'tenant_ifaces',
      comment: 'the devices tenants forward from',
      key: ['ifname'],
      interval: false,
      elements: c.tenants.map((t) => ({
        key: [{ type: 'ifname', value: ports.forwardFrom(t) }],
        comment: `tenant ${t.name}`,
      })),
    },
    {
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
    },
    {
      name: 'subscriber_address',
      comment: 'tenant mark . subscriber -> public address, for protocols without ports (GRE, ESP)',
      key: ['mark', 'ipv4_addr'],
      value: ['ipv4_addr'],
      interval: false,
      elements: elements.addresses,
    },
  ];
  if (c.nat.connections !== undefined)
    sets.push({
      name: 'subscriber_conns',
      comment: 'connections per subscriber, counted by nf_conncount',
      key: ['mark', 'ipv4_addr'],
      interval: false,
      dynamic: { size: 1_048_576 },
      elements: [],
    });

  const zoneChain: Chain = {
    name: 'tenant-zone',
    comment: 'one conntrack zone per tenant (seed 002: identical tuples of two tenants met in one zone)',
    notes: [
      'Original direction only: a reply, already NATed to a unique public port, is looked up in the',
      'default zone. Keyed on the device conntrack first sees (the VRF slave, not the VRF device):',
      "on the VRF device's pass the flow is already tracked and a zone would come too late.",
    ],
    base: { type: 'filter', hook: 'prerouting', priority: PRIORITY.raw, policy: 'accept' },
    rules: [
      rule('a tenant packet enters its tenant zone', {
        kind: 'set-field',
        field: { kind: 'ct', key: 'zone', direction: 'original' },
        value: lookup(meta('iifname'), 'tenant_zone'),
      }),
    ],
  };
  const uplink = { type: 'ifname', value: c.uplink.interface } as const;
  const ipv4 = eq(meta('nfproto'), { type: 'nfproto', value: 'ipv4' });
  const chains: Chain[] = [
    ...(options.zones ? [zoneChain] : []),
    {
      name: 'tenant-mark',
      comment: "remember each flow's tenant, and route its replies back to that tenant",
      notes: [
        'After de-NAT a reply is addressed to a subscriber address several tenants may have: the',
        "mark selects the tenant's routing table (ip rule fwmark T lookup <tenant table>).",
      ],
      base: { type: 'filter', hook: 'prerouting', priority: PRIORITY.mangle, policy: 'accept' },
      rules: [
        rule(
          'a new flow from a tenant carries its tenant',
          eq(ct('state'), { type: 'ct_state', value: ['new'] }),
          { kind: 'set-field', field: ct('mark'), value: lookup(meta('iifname'), 'tenant_mark') },
        ),
        rule(
          "its replies are routed by that tenant's table",
          eq(ct('direction'), { type: 'ct_direction', value: 'reply' }),
          { kind: 'set-field', field: meta('mark'), value: ct('mark') },
        ),
      ],
    },
    {
      name: 'tenant-forward',
      comment: 'what a tenant may send through the router',
      base: { type: 'filter', hook: 'forward', priority: PRIORITY.filter, policy: 'accept' },
      rules: [
        rule(
          'IPv4 from a tenant comes from its subscribers or its routed public prefixes: nothing else is NATed or routed',
          ipv4,
          { kind: 'match-set', left: meta('iifname'), set: 'tenant_ifaces' },
          {
            kind: 'match-set',
            left: concat(meta('iifname'), ip('saddr')),
            set: 'tenant_sources',
            negate: true,
          },
          { kind: 'counter' },
          { kind: 'verdict', verdict: 'drop' },
        ),
        ...(c.nat.connections === undefined
          ? []
          : [
              rule(
                `a subscriber holds at most ${c.nat.connections} connections (nat.connections)`,
                eq(ct('state'), { type: 'ct_state', value: ['new'] }),
                ipv4,
                {
                  kind: 'count-over',
                  set: 'subscriber_conns',
                  key: concat(ct('mark'), ip('saddr')),
                  limit: c.nat.connections,
                },
                { kind: 'counter' },
                { kind: 'verdict', verdict: 'drop' },
              ),
            ]),
      ],
    },
    {
      name: 'uplink-nat',
      comment: 'subscribers leave the uplink from their public address and port block',
      notes: [
        "Matched on the uplink interface itself: with VRFs the nat chain sees only the lower device's",
        "pass (the VRF device's is untracked). A public prefix routed to a client has no block and",
        'leaves as it is. Being an inet table, it registers NAT for IPv6 too, which keeps clashing',
        'reply tuples reallocated (T6097).',
      ],
      base: { type: 'nat', hook: 'postrouting', priority: PRIORITY.srcnat, policy: 'accept' },
      rules: [
        rule(
          "TCP, UDP and ICMP: the subscriber's port block (ICMP ids too)",
          eq(meta('oifname'), uplink),
          ipv4,
          {
            kind: 'match',
            left: meta('l4proto'),
            op: 'eq',
            right: {
              kind: 'anonymous-set',
              values: (['tcp', 'udp', 'icmp'] as const).map((value) => ({ type: 'inet_proto', value })),
            },
          },
          { kind: 'nat', type: 'snat', to: lookup(concat(ct('mark'), ip('saddr')), 'port_blocks') },
        ),
        rule("other protocols: the subscriber's public address", eq(meta('oifname'), uplink), ipv4, {
          kind: 'nat',
          type: 'snat',
          to: lookup(concat(ct('mark'), ip('saddr')), 'subscriber_address'),
        }),
      ],
    },
  ];
  return {
    tables: [
      {
        family: 'inet',
        name: 'convergent',
        comment: `convergent CGNAT ${c.name}: ${c.tenants.length} tenant(s), ${c.nat.pool.length} public address(es)`,
        sets,
        chains,
      },
    ],
  };
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
