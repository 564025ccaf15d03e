// A validated CGNAT spec -> the model: defaults filled in, addresses parsed, subscribers numbered.
import { type Address, type Cidr, parseAddress, parseCidr } from '../../util/ip.ts';
import { type Prefix, parseIPv4, parsePrefix } from '../../util/ipv4.ts';
import type { Cgnat, Tenant } from './model.ts';
import { resolveCheck } from './resolve-checks.ts';
import { type CgnatSpec, parsePortRange } from './schema.ts';

const address = (s: string) => parseAddress(s) as Address;
const cidr = (s: string) => parseCidr(s) as Cidr;
const prefix = (s: string) => parsePrefix(s) as Prefix;

export function resolveCgnat(spec: CgnatSpec): Cgnat {
  const { first, last } = parsePortRange(spec.nat.ports);
  const pool = spec.nat.pool.flatMap((p) => {
    if (!p.includes('/')) return [parseIPv4(p) as number];
    const { network, length } = prefix(p);
    return Array.from({ length: 2 ** (32 - length) }, (_, i) => network + i);
  });
  let next = 0;
  const tenants: Tenant[] = Object.entries(spec.tenants).map(([name, t], i) => {
    const subscribers = t.subscribers.map(prefix);
    const count = subscribers.reduce((n, p) => n + 2 ** (32 - p.length), 0);
    const tenant: Tenant = {
      name,
      index: i + 1,
      bridge: t.bridge,
      gateways: t.gateways.map(cidr),
      subscribers,
      firstSubscriber: next,
      subscriberCount: count,
      routes: t.routes.map((r) => ({ to: prefix(r.to), client: r.client })),
      clients: Object.entries(t.clients).map(([c, client]) => ({
        name: c,
        tenant: name,
        addresses: client.addresses.map(address),
      })),
      path: ['tenants', name],
    };
    next += count;
    return tenant;
  });
  const uplinkAddresses = spec.uplink.addresses.map(cidr);
  const gateways = spec.uplink.gateways.map(address);
  return {
    name: spec.name,
    backend: spec.backend,
    router: spec.router,
    uplink: { vrf: spec.uplink.vrf, interface: spec.uplink.interface, addresses: uplinkAddresses, gateways },
    nat: {
      pool,
      firstPort: first,
      lastPort: last,
      block: spec.nat.block,
      blocksPerAddress: Math.floor((last - first + 1) / spec.nat.block),
      connections: spec.nat.connections,
      filtering: spec.nat.filtering,
    },
    tenants,
    // Without a peer in the spec, the lab's uplink host holds the uplink's gateways.
    peer: spec.peer
      ? { name: spec.peer.name, interface: spec.peer.interface, addresses: spec.peer.addresses.map(cidr) }
      : {
          name: 'uplink',
          interface: 'client1',
          addresses: gateways.map((g) => ({
            ...g,
            length: uplinkAddresses.find((u) => u.family === g.family)?.length ?? (g.family === 4 ? 32 : 128),
          })),
        },
    checks: spec.checks?.map(resolveCheck),
  };
}
