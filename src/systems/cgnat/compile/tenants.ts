// The tenants: a conntrack zone and a mark per tenant (seed 002's cure for overlapping addresses),
// replies routed back by mark, a tenant's IPv4 only from its own subscribers or routed prefixes, and
// at most N connections per subscriber. A tenant's mark is its index spread into marks.mask, written
// under that mask by a chain of the tenant's own (a verdict map jumps to it: one lookup per packet;
// nft 1.0.6 cannot or a map's value into a mark) and read under it, so other bits survive (F36).
import type { TableBuilder } from '../../../nft/builder.ts';
import {
  type Const,
  concat,
  ct,
  type DataType,
  type Element,
  eq,
  ip,
  lookup,
  meta,
  PRIORITY,
} from '../../../nft/tree.ts';
import { formatPrefix } from '../../../util/ipv4.ts';
import { hexMark } from '../../marks/bits.ts';
import { masked, setMasked } from '../../marks/nft.ts';
import type { Cgnat, Tenant } from '../model.ts';
import { device, drop, flowChain, ipv4, jumpTo, mark, routeChain } from './matches.ts';

/** Where the router first meets a tenant's packets, and the device they are forwarded from. */
export interface TenantPorts {
  /** conntrack runs on this device's prerouting pass: the VRF's slave (the bridge), or the transit veth. */
  readonly zoneKey: (t: Tenant) => string;
  /** The input device in the forward hook: the VRF device, or the transit veth. */
  readonly forwardFrom: (t: Tenant) => string;
}

/** A map with one element per tenant, keyed by the device conntrack first sees its packets on. */
function perTenant(c: Cgnat, ports: TenantPorts, value: (t: Tenant) => Const): Element[] {
  return c.tenants.map((t) => ({
    key: [device(ports.zoneKey(t))],
    value: [value(t)],
    comment: `tenant ${t.name}`,
  }));
}

export function tenantSets(c: Cgnat, ports: TenantPorts, table: TableBuilder): void {
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
      'tenant_flow',
      'tenant -> the chain setting its connection mark (ip rule fwmark -> its table)',
      'verdict',
    ),
    elements: perTenant(c, ports, (t) => jumpTo(flowChain(t))),
  });
  table.set({
    name: 'tenant_route',
    comment: "tenant mark -> the chain setting its packets' mark (its replies' ip rule)",
    key: ['mark'],
    value: ['verdict'],
    interval: false,
    elements: c.tenants.map((t) => ({
      key: [mark(t)],
      value: [jumpTo(routeChain(t))],
      comment: `tenant ${t.name}`,
    })),
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

export function connectionSet(table: TableBuilder): void {
  table.set({
    name: 'subscriber_conns',
    comment: 'connections per subscriber, counted by nf_conncount',
    key: ['mark', 'ipv4_addr'],
    interval: false,
    dynamic: { size: 1_048_576 },
    elements: [],
  });
}

export function tenantChains(c: Cgnat, table: TableBuilder, zones: boolean): void {
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
      "mark selects the tenant's routing table (ip rule fwmark T/M lookup <tenant table>).",
    ],
  );
  table.rule(
    'tenant-mark',
    'a new flow from a tenant carries its tenant',
    eq(ct('state'), { type: 'ct_state', value: ['new'] }),
    { kind: 'vmap', key: meta('iifname'), map: 'tenant_flow' },
  );
  table.rule(
    'tenant-mark',
    "its replies are routed by that tenant's table",
    eq(ct('direction'), { type: 'ct_direction', value: 'reply' }),
    { kind: 'vmap', key: masked(ct('mark'), c.marks.mask), map: 'tenant_route' },
  );
  markChains(c, table);
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

/** Per tenant: its flows' ct mark and its packets' meta mark, each under marks.mask. */
function markChains(c: Cgnat, table: TableBuilder): void {
  const { mask } = c.marks;
  for (const t of c.tenants) {
    const note = `tenant ${t.name}: mark ${hexMark(t.mark)} under ${hexMark(mask)}`;
    table.chain(flowChain(t), `${note}, on its flows`);
    table.rule(flowChain(t), `${note}; other bits kept`, setMasked(ct('mark'), mask, t.mark));
    table.chain(routeChain(t), `${note}, on its packets (ip rule fwmark -> its table)`);
    table.rule(routeChain(t), `${note}; other bits kept`, setMasked(meta('mark'), mask, t.mark));
  }
}

export function connectionRule(c: Cgnat, table: TableBuilder, limit: number): void {
  table.rule(
    'tenant-forward',
    `a subscriber holds at most ${limit} connections (nat.connections)`,
    eq(ct('state'), { type: 'ct_state', value: ['new'] }),
    ipv4,
    { kind: 'match-set', left: meta('iifname'), set: 'tenant_ifaces' },
    {
      kind: 'count-over',
      set: 'subscriber_conns',
      key: concat(masked(ct('mark'), c.marks.mask), ip('saddr')),
      limit,
    },
    ...drop,
  );
}
