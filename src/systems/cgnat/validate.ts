// Relations in a CGNAT spec that its schema cannot express: every problem, each with its path and fix.
// Tenants may share address space with each other (that is the point), never within themselves.

import type { Problem, SpecPath } from '../../input/problem.ts';
import { type Cidr, inCidr } from '../../util/ip.ts';
import { formatIPv4, formatPrefix, overlaps, type Prefix } from '../../util/ipv4.ts';
import { plural } from '../../util/plural.ts';
import { DEFAULT_MARK_MASK } from '../marks/bits.ts';
import { checkMarks } from '../marks/validate.ts';
import type { CgnatSpec, TenantSpec } from './schema.ts';

type Report = (path: SpecPath, message: string, fix?: string, atKey?: boolean) => void;

const size = (p: Prefix) => 2 ** (32 - p.length);

export function validateCgnat(spec: CgnatSpec): Problem[] {
  const problems: Problem[] = [];
  const report: Report = (path, message, fix, atKey = false) => problems.push({ path, message, fix, atKey });
  checkNames(spec, report);
  checkUplink(spec, report);
  const subscribers = checkTenants(spec, report);
  checkPool(spec, subscribers, report);
  checkChecks(spec, report);
  const tenants = Object.keys(spec.tenants);
  const last = tenants.at(-1);
  checkMarks(
    spec.marks ?? { mask: DEFAULT_MARK_MASK, platform: [] },
    spec.marks !== undefined,
    last === undefined
      ? undefined
      : { largest: tenants.length, what: `tenant ${last}'s index`, path: ['tenants', last] },
    report,
  );
  return problems;
}

/** Every host, tenant and VRF name is a namespace or device of its own: no two may be the same. */
function checkNames(spec: CgnatSpec, report: Report): void {
  const seen = new Map<string, string>();
  const claim = (name: string, what: string, path: SpecPath) => {
    const other = seen.get(name);
    if (other)
      report(
        path,
        `"${name}" is both ${other} and ${what}`,
        'give each host, tenant and VRF its own name',
        true,
      );
    else seen.set(name, what);
  };
  claim(spec.router, 'the router', ['router']);
  if (spec.backend === 'vrf') claim(spec.uplink.vrf, 'the uplink VRF', ['uplink', 'vrf']);
  claim(spec.peer?.name ?? 'uplink', 'the uplink peer', ['peer', 'name']);
  for (const [t, tenant] of Object.entries(spec.tenants)) {
    claim(t, 'a tenant', ['tenants', t]);
    for (const c of Object.keys(tenant.clients))
      claim(c, `a client of tenant ${t}`, ['tenants', t, 'clients', c]);
  }
  const bridges = new Map<string, string>();
  for (const [t, tenant] of Object.entries(spec.tenants)) {
    const other =
      bridges.get(tenant.bridge) ?? (tenant.bridge === spec.uplink.interface ? 'the uplink' : undefined);
    if (other)
      report(
        ['tenants', t, 'bridge'],
        `bridge ${tenant.bridge} is also ${other}'s`,
        'give every tenant its own bridge',
      );
    bridges.set(tenant.bridge, `tenant ${t}`);
  }
}

function checkUplink(spec: CgnatSpec, report: Report): void {
  const { uplink } = spec;
  const v4 = uplink.addresses.filter((c) => c.family === 4);
  if (v4.length === 0)
    report(
      ['uplink', 'addresses'],
      'the uplink has no IPv4 address',
      "add the router's IPv4 address on the uplink, e.g. 100.64.0.1/10",
    );
  for (const [i, g] of uplink.gateways.entries()) {
    if (!uplink.addresses.some((c) => inCidr(c, g)))
      report(
        ['uplink', 'gateways', i],
        `gateway ${g.text} is on none of the uplink's networks`,
        "use an address of the uplink's link, e.g. the provider's router",
      );
  }
}

/** The tenants' subscriber counts, in order. */
function checkTenants(spec: CgnatSpec, report: Report): number {
  let subscribers = 0;
  const routed: { to: Prefix; tenant: string }[] = [];
  for (const [t, tenant] of Object.entries(spec.tenants)) {
    const at = (...rest: (string | number)[]): SpecPath => ['tenants', t, ...rest];
    const v4 = checkGateways(t, tenant, at, report);
    subscribers += checkSubscribers(t, tenant, v4, at, report);
    tenant.routes.forEach((r, i) => {
      if (!Object.hasOwn(tenant.clients, r.client))
        report(
          at('routes', i, 'client'),
          `tenant ${t} has no client "${r.client}"`,
          `route to one of: ${Object.keys(tenant.clients).join(', ') || '(no clients)'}`,
        );
      const clash = routed.find((x) => overlaps(x.to, r.to));
      if (clash)
        report(
          at('routes', i, 'to'),
          `${formatPrefix(r.to)} is also routed to tenant ${clash.tenant}`,
          'a public prefix goes to one tenant',
        );
      routed.push({ to: r.to, tenant: t });
    });
    checkClients(t, tenant, at, report);
  }
  return subscribers;
}

type At = (...rest: (string | number)[]) => SpecPath;

/** One gateway per family on the tenant bridge, an IPv4 one among them: returned. */
function checkGateways(t: string, tenant: TenantSpec, at: At, report: Report): Cidr | undefined {
  for (const family of [4, 6] as const)
    if (tenant.gateways.filter((g) => g.family === family).length > 1)
      report(
        at('gateways'),
        `tenant ${t} has more than one IPv${family} gateway`,
        'keep one address per family on the tenant bridge',
      );
  const v4 = tenant.gateways.find((g) => g.family === 4);
  if (!v4)
    report(
      at('gateways'),
      `tenant ${t} has no IPv4 gateway`,
      "add the router's IPv4 address on the tenant bridge, e.g. 100.127.255.254/10",
    );
  return v4;
}

/** Disjoint subscriber prefixes on the tenant's IPv4 network: how many addresses they hold. */
function checkSubscribers(
  t: string,
  tenant: TenantSpec,
  v4: Cidr | undefined,
  at: At,
  report: Report,
): number {
  const prefixes = tenant.subscribers;
  prefixes.forEach((p, i) => {
    const earlier = prefixes.findIndex((q, j) => j < i && overlaps(p, q));
    if (earlier >= 0)
      report(
        at('subscribers', i),
        `${formatPrefix(p)} overlaps ${formatPrefix(prefixes[earlier] as Prefix)} of the same tenant`,
        "a tenant's subscriber prefixes are disjoint (tenants may overlap each other)",
      );
    if (v4 && !inCidr(v4, { family: 4, text: formatIPv4(p.network) }))
      report(
        at('subscribers', i),
        `${formatPrefix(p)} is not on tenant ${t}'s network ${v4.text}/${v4.length}`,
        'subscribers live on the tenant bridge: use addresses of its IPv4 network',
      );
  });
  return prefixes.reduce((n, p) => n + size(p), 0);
}

/** A client's addresses: one owner each, IPv6 on the tenant's IPv6 network, IPv4 a subscriber's or routed to it. */
function checkClients(t: string, tenant: TenantSpec, at: At, report: Report): void {
  const owner = new Map<string, string>();
  const v6 = tenant.gateways.find((g) => g.family === 6);
  for (const [c, client] of Object.entries(tenant.clients))
    client.addresses.forEach((a, i) => {
      const path = at('clients', c, 'addresses', i);
      const other = owner.get(a.text);
      if (other) report(path, `${a.text} is also ${other}'s`, 'within a tenant every address has one owner');
      owner.set(a.text, c);
      if (a.family === 6) {
        if (!v6 || !inCidr(v6, a))
          report(
            path,
            `${a.text} is not on tenant ${t}'s IPv6 network${v6 ? ` ${v6.text}/${v6.length}` : ' (it has none)'}`,
            "give the client an address of the tenant's IPv6 gateway network",
          );
        return;
      }
      const within = (p: Prefix) => inCidr({ family: 4, text: formatIPv4(p.network), length: p.length }, a);
      const isSubscriber = tenant.subscribers.some(within);
      const isRouted = tenant.routes.some((r) => r.client === c && within(r.to));
      if (!isSubscriber && !isRouted)
        report(
          path,
          `${a.text} is neither a subscriber address of tenant ${t} nor a public prefix routed to ${c}`,
          `use an address of ${tenant.subscribers.map(formatPrefix).join(', ')}, or route it to ${c} under routes:`,
        );
    });
}

function checkPool(spec: CgnatSpec, subscribers: number, report: Report): void {
  const { first, last } = spec.nat.ports;
  const range = `${first}-${last}`;
  if (first < 1 || last > 65535 || first > last) {
    report(
      ['nat', 'ports'],
      `port range ${range} is not within 1-65535 or ends before it starts`,
      'e.g. 1024-65535',
    );
    return;
  }
  const perAddress = Math.floor((last - first + 1) / spec.nat.block);
  if (perAddress === 0) {
    report(
      ['nat', 'block'],
      `a block of ${spec.nat.block} ports does not fit into ${range}`,
      'make blocks smaller than the port range',
    );
    return;
  }
  const pool = spec.nat.pool.reduce<number>((n, p) => n + (typeof p === 'number' ? 1 : size(p)), 0);
  const capacity = pool * perAddress;
  if (capacity < subscribers)
    report(
      ['nat', 'pool'],
      `the pool serves ${plural(capacity, 'subscriber')} (${plural(pool, 'address', 'addresses')} x ${plural(perAddress, 'block')} of ${plural(spec.nat.block, 'port')}) but the tenants have ${subscribers}`,
      `add public addresses (${Math.ceil(subscribers / perAddress)} needed), make blocks smaller, or narrow the subscriber prefixes`,
    );
}

function checkChecks(spec: CgnatSpec, report: Report): void {
  const clients = new Set(Object.values(spec.tenants).flatMap((t) => Object.keys(t.clients)));
  const hosts = new Set([spec.router, spec.peer?.name ?? 'uplink', ...clients]);
  (spec.checks ?? []).forEach((c, i) => {
    const from = Array.isArray(c.from) ? c.from : [c.from];
    from.forEach((h, j) => {
      if (!hosts.has(h))
        report(
          ['checks', i, 'from', ...(Array.isArray(c.from) ? [j] : [])],
          `no host "${h}"`,
          `hosts: ${[...hosts].join(', ')}`,
        );
    });
    if (c.proto !== 'ping' && c.port === undefined)
      report(['checks', i], `a ${c.proto} check needs a port`, 'add port:, e.g. port: 80');
    // For nat: filtering the expectation is about the second leg, sent by inbound.from.
    const sender = c.nat === 'filtering' && c.inbound ? [c.inbound.from] : from;
    if (c.expect.sees === 'nat' && sender.some((h) => !clients.has(h)))
      report(
        ['checks', i, 'expect', 'sees'],
        '"sees: nat" is about a client\'s public mapping; the check runs from a host that is no client',
        'run it from a client, or expect an address',
      );
    checkNatCheck(spec, c, ['checks', i], hosts, clients, report);
  });
}

/** A NAT behaviour check: from one client, over TCP or UDP, with what its kind needs. */
function checkNatCheck(
  spec: CgnatSpec,
  c: NonNullable<CgnatSpec['checks']>[number],
  path: SpecPath,
  hosts: ReadonlySet<string>,
  clients: ReadonlySet<string>,
  report: Report,
): void {
  const many = Array.isArray(c.to);
  if (!c.nat) {
    if (many)
      report([...path, 'to'], 'several destinations belong to a nat: mapping check', 'give one address');
    if (c.inbound)
      report([...path, 'inbound'], '"inbound" belongs to a nat: filtering check', 'add nat: filtering');
    return;
  }
  if (c.proto === 'ping')
    report([...path, 'proto'], `nat: ${c.nat} is about TCP and UDP mappings`, 'use proto: udp or proto: tcp');
  if (Array.isArray(c.from) || !clients.has(c.from))
    report([...path, 'from'], `nat: ${c.nat} runs from one client`, `name one of ${[...clients].join(', ')}`);
  if (c.nat === 'mapping' && !many)
    report(
      [...path, 'to'],
      'nat: mapping dials several destinations from one source port',
      'give two or more addresses, e.g. to: [192.0.2.1, 192.0.2.3]',
    );
  if (c.nat !== 'mapping' && many)
    report([...path, 'to'], `nat: ${c.nat} dials one destination`, 'give one address');
  if (c.nat === 'filtering') {
    if (!c.inbound)
      report(path, 'nat: filtering needs the second leg', 'add inbound: { from: <peer or client> }');
    else if (!hosts.has(c.inbound.from))
      report([...path, 'inbound', 'from'], `no host "${c.inbound.from}"`, `hosts: ${[...hosts].join(', ')}`);
    if (spec.nat.filtering !== 'endpoint-independent' && c.expect.reaches)
      report(
        [...path, 'expect'],
        `with nat.filtering ${spec.nat.filtering} only the host the client sent to may answer it`,
        'expect: { reaches: false }, or set nat.filtering: endpoint-independent',
      );
  } else if (c.inbound)
    report([...path, 'inbound'], '"inbound" belongs to a nat: filtering check', 'remove it');
  // mapping and limit judge by the client's own block; only filtering has an expectation to give.
  if (
    c.nat !== 'filtering' &&
    (!c.expect.reaches || (c.expect.sees !== undefined && c.expect.sees !== 'nat'))
  )
    report(
      [...path, 'expect'],
      `nat: ${c.nat} is judged by the client's own mapping and port block`,
      'remove expect (or use nat: filtering for what another host sees)',
    );
  if (c.nat === 'limit' && c.sourcePort !== undefined)
    report([...path, 'sourcePort'], 'nat: limit opens flows from many ports', 'remove sourcePort');
}
