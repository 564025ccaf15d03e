// A validated CGNAT spec -> the model: defaults filled in, subscribers numbered. The schema has
// parsed the addresses already; the checks keep theirs as text for resolve-checks.ts.
import type { Prefix } from '../../util/ipv4.ts';
import { spread } from '../marks/bits.ts';
import { resolveMarks } from '../marks/model.ts';
import type { Cgnat, Nat, Peer, Tenant } from './model.ts';
import { resolveCheck } from './resolve-checks.ts';
import type { CgnatSpec } from './schema.ts';

const size = (p: Prefix) => 2 ** (32 - p.length);

export function resolveCgnat(spec: CgnatSpec): Cgnat {
  return {
    name: spec.name,
    backend: spec.backend,
    router: spec.router,
    uplink: spec.uplink,
    nat: nat(spec.nat),
    tenants: tenants(spec.tenants, resolveMarks(spec.marks).mask),
    marks: resolveMarks(spec.marks),
    peer: peer(spec),
    checks: spec.checks?.map(resolveCheck),
  };
}

function nat(spec: CgnatSpec['nat']): Nat {
  const { first, last } = spec.ports;
  return {
    // Every address of a prefix, in order.
    pool: spec.pool.flatMap((p) =>
      typeof p === 'number' ? [p] : Array.from({ length: size(p) }, (_, i) => p.network + i),
    ),
    firstPort: first,
    lastPort: last,
    block: spec.block,
    blocksPerAddress: Math.floor((last - first + 1) / spec.block),
    connections: spec.connections,
    filtering: spec.filtering,
  };
}

/** The tenants in spec order, their subscribers numbered across all of them in that order. */
function tenants(spec: CgnatSpec['tenants'], mask: number): Tenant[] {
  let next = 0;
  return Object.entries(spec).map(([name, t], i) => {
    const count = t.subscribers.reduce((n, p) => n + size(p), 0);
    const tenant: Tenant = {
      name,
      index: i + 1,
      mark: spread(i + 1, mask),
      bridge: t.bridge,
      gateways: t.gateways,
      subscribers: t.subscribers,
      firstSubscriber: next,
      subscriberCount: count,
      routes: t.routes,
      clients: Object.entries(t.clients).map(([c, client]) => ({
        name: c,
        tenant: name,
        addresses: client.addresses,
      })),
      path: ['tenants', name],
    };
    next += count;
    return tenant;
  });
}

/** Without a peer in the spec, the lab's uplink host holds the uplink's gateways. */
function peer(spec: CgnatSpec): Peer {
  if (spec.peer) return spec.peer;
  const { addresses, gateways } = spec.uplink;
  return {
    name: 'uplink',
    interface: 'client1',
    addresses: gateways.map((g) => ({
      ...g,
      length: addresses.find((u) => u.family === g.family)?.length ?? (g.family === 4 ? 32 : 128),
    })),
  };
}
