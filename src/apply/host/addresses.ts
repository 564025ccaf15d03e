// Interface addresses. The kernel does not say who put an address (its proto needs iproute2 >= 6.3),
// so the state dir records the addresses convergent put: owned = that record + the plan's. An address
// on the host that is neither (a foreign bridge's, a link-local) is never touched.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressPlan } from '../../host/plan.ts';
import type { Change } from '../change.ts';
import type { Desired } from '../desired.ts';
import { change, deleteQuietly, ip } from './commands.ts';
import { addressText, type LiveAddress } from './read.ts';

/** An address by device and normalised CIDR: "guestbr0 10.5.5.251/24". */
export interface OwnedAddress {
  readonly dev: string;
  readonly cidr: string;
}

/**
 * The state dir's record of what convergent put on the host that the host does not say itself: the
 * addresses, and the ports and slaves of its links (a stale bridge's ports that were the plan's are
 * not someone else's).
 */
export interface HostRecord {
  readonly addresses: readonly OwnedAddress[];
  /** Link -> the ports (bridge) or slaves (bond) the plan gave it. */
  readonly ports: Readonly<Record<string, readonly string[]>>;
}

export const RECORD_FILE = 'host.json';

export function readRecord(stateDir: string): HostRecord {
  const path = join(stateDir, RECORD_FILE);
  if (!existsSync(path)) return { addresses: [], ports: {} };
  const doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<HostRecord>;
  return { addresses: doc.addresses ?? [], ports: doc.ports ?? {} };
}

/** Written whole (temp + rename): a crash leaves the old record or the new one. */
export function writeRecord(stateDir: string, record: HostRecord): void {
  const path = join(stateDir, RECORD_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The plan's addresses and link ports as a record. */
export function recordOf(desired: Pick<Desired, 'addresses' | 'links' | 'bridges'>): HostRecord {
  const ports: Record<string, readonly string[]> = {};
  for (const b of desired.bridges) ports[b.name] = b.ports;
  for (const l of desired.links) if (l.kind === 'bond') ports[l.name] = l.slaves;
  return { addresses: desired.addresses.map(ownedOf), ports };
}

/** The record before an apply changes anything: what was convergent's and what will be. */
export function recordUnion(
  before: HostRecord,
  desired: Pick<Desired, 'addresses' | 'links' | 'bridges'>,
): HostRecord {
  const next = recordOf(desired);
  const addresses = new Map(before.addresses.map((a) => [key(a), a]));
  for (const a of next.addresses) addresses.set(key(a), a);
  const ports: Record<string, readonly string[]> = { ...before.ports };
  for (const [link, list] of Object.entries(next.ports))
    ports[link] = [...new Set([...(ports[link] ?? []), ...list])];
  return { addresses: [...addresses.values()], ports };
}

/** "10.5.5.251/24" as ip prints it (IPv6 compressed). */
export function normalCidr(cidr: string): string {
  const [address, length] = cidr.split('/');
  return `${addressText(address as string)}/${length ?? ''}`;
}

export const ownedOf = (a: AddressPlan): OwnedAddress => ({ dev: a.dev, cidr: normalCidr(a.cidr) });
const key = (a: OwnedAddress) => `${a.dev} ${a.cidr}`;

/** Adds in the plan's order (a device's first address on a subnet is its primary); deletions of recorded ones. */
export function addressChanges(
  live: readonly LiveAddress[],
  desired: readonly AddressPlan[],
  record: readonly OwnedAddress[],
): Change[] {
  const present = new Set(live.map(key));
  const wanted = new Set(desired.map((a) => key(ownedOf(a))));
  const adds = desired
    .filter((a) => !present.has(key(ownedOf(a))))
    .map((a) => {
      const c = normalCidr(a.cidr);
      return change(
        'addresses',
        'add',
        `address ${c} dev ${a.dev}`,
        [ip('address', 'replace', c, 'dev', a.dev)],
        {
          source: a.source,
        },
      );
    });
  const deletes = record
    .filter((a) => present.has(key(a)) && !wanted.has(key(a)))
    .map((a) =>
      change('addresses', 'delete', `address ${a.cidr} dev ${a.dev}`, [
        deleteQuietly(['ip', 'address', 'del', a.cidr, 'dev', a.dev]),
      ]),
    );
  return [...adds, ...deletes];
}
