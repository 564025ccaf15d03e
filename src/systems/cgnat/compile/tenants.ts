// The tenants: a conntrack zone and a mark per tenant (seed 002's cure for overlapping addresses),
// replies routed back by mark, a tenant's IPv4 only from its own subscribers or routed prefixes, and
// at most N connections per subscriber.
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
import type { Cgnat, Tenant } from '../model.ts';
import { device, drop, ipv4, mark } from './matches.ts';

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

export function tenantChains(table: TableBuilder, zones: boolean): void {
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

export function connectionRule(table: TableBuilder, limit: number): void {
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
