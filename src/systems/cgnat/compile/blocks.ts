// Deterministic port blocks (RFC 7422): every subscriber address of every tenant is numbered, in
// spec order (tenant, then its prefixes, then address), and subscriber number i owns block i:
//   public address = pool[floor(i / B)], ports = first + (i mod B) * size .. + size - 1
// with B = floor((last - first + 1) / size) blocks per public address. The mapping follows from
// the spec alone, so "who had public address X, port Y at time T" needs no per-connection log:
// the same arithmetic run backwards answers it for as long as the spec was in force.

import { plural } from '../../../util/plural.ts';
import { describeMarks } from '../../marks/model.ts';
import type { Cgnat, Tenant } from '../model.ts';

export interface PortBlock {
  readonly tenant: string;
  /** The subscriber's (private) IPv4 address. */
  readonly subscriber: number;
  /** Its number among all subscribers. */
  readonly index: number;
  readonly public: number;
  readonly firstPort: number;
  readonly lastPort: number;
}

/** How many subscribers the pool can serve. */
export const capacity = (c: Pick<Cgnat, 'nat'>) => c.nat.pool.length * c.nat.blocksPerAddress;

function blockAt(c: Cgnat, tenant: Tenant, subscriber: number, index: number): PortBlock {
  const { nat } = c;
  const first = nat.firstPort + (index % nat.blocksPerAddress) * nat.block;
  return {
    tenant: tenant.name,
    subscriber,
    index,
    public: nat.pool[Math.floor(index / nat.blocksPerAddress)] as number,
    firstPort: first,
    lastPort: first + nat.block - 1,
  };
}

/** The block of `address` in `tenant`, or undefined when it is not one of the tenant's subscribers. */
export function blockOf(c: Cgnat, tenant: Tenant, address: number): PortBlock | undefined {
  let offset = 0;
  for (const p of tenant.subscribers) {
    const size = 2 ** (32 - p.length);
    if (address >= p.network && address < p.network + size)
      return blockAt(c, tenant, address, tenant.firstSubscriber + offset + (address - p.network));
    offset += size;
  }
  return undefined;
}

/** Who owns public address:port: the inverse of blockOf. */
export function ownerOf(c: Cgnat, publicAddress: number, port: number): PortBlock | undefined {
  const { nat } = c;
  const slot = nat.pool.indexOf(publicAddress);
  if (slot < 0 || port < nat.firstPort) return undefined;
  const inAddress = Math.floor((port - nat.firstPort) / nat.block);
  if (inAddress >= nat.blocksPerAddress) return undefined;
  const index = slot * nat.blocksPerAddress + inAddress;
  const tenant = c.tenants.find(
    (t) => index >= t.firstSubscriber && index < t.firstSubscriber + t.subscriberCount,
  );
  if (!tenant) return undefined;
  let offset = index - tenant.firstSubscriber;
  for (const p of tenant.subscribers) {
    const size = 2 ** (32 - p.length);
    if (offset < size) return blockAt(c, tenant, p.network + offset, index);
    offset -= size;
  }
  return undefined;
}

/** Every block, in subscriber order: the ruleset's map and the export. */
export function* allBlocks(c: Cgnat): Generator<PortBlock> {
  for (const tenant of c.tenants) {
    let index = tenant.firstSubscriber;
    for (const p of tenant.subscribers)
      for (let a = 0; a < 2 ** (32 - p.length); a++) yield blockAt(c, tenant, p.network + a, index++);
  }
}

/** What `check` says about a CGNAT spec: tenants, subscribers and how full the pool is. */
export function describeCgnat(c: Cgnat): string {
  const subscribers = c.tenants.reduce((n, t) => n + t.subscriberCount, 0);
  return (
    `CGNAT ${c.name} (backend ${c.backend}), ${plural(c.tenants.length, 'tenant')}, ${plural(subscribers, 'subscriber')}; ` +
    `pool ${plural(c.nat.pool.length, 'address', 'addresses')} x ${plural(c.nat.blocksPerAddress, 'block')} of ${plural(c.nat.block, 'port')} ` +
    `(${plural(capacity(c) - subscribers, 'block')} free); ${c.nat.filtering} filtering` +
    describeMarks(c.marks)
  );
}
