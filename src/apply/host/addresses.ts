// Interface addresses. The kernel does not say who put an address (its proto needs iproute2 >= 6.3),
// so the state dir records the addresses convergent put: owned = that record + the plan's. An address
// on the host that is neither (a foreign bridge's, a link-local) is never touched.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressPlan } from '../../host/plan.ts';
import { formatCidr, networkOf, parseCidr } from '../../util/ip.ts';
import type { Change } from '../change.ts';
import type { Desired } from '../desired.ts';
import { ApplyError } from '../errors.ts';
import { writeAtomic } from '../state.ts';
import { adoptedOf } from './adopted.ts';
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

/** The record, or none when there is no file; one that cannot be read is an error saying what to do. */
export function readRecord(stateDir: string): HostRecord {
  const path = join(stateDir, RECORD_FILE);
  if (!existsSync(path)) return { addresses: [], ports: {} };
  let doc: Partial<HostRecord> | null;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<HostRecord> | null;
  } catch (err) {
    throw corrupt(path, (err as Error).message);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw corrupt(path, 'it holds no object');
  const addresses = doc.addresses ?? [];
  const ports = doc.ports ?? {};
  if (!Array.isArray(addresses) || typeof ports !== 'object' || ports === null)
    throw corrupt(path, 'its addresses or ports are not a list and an object');
  return { addresses, ports };
}

const corrupt = (path: string, why: string) =>
  new ApplyError(
    'failed',
    `the host record ${path} cannot be read (${why}): it names the addresses and ports convergent put`,
    `delete it (rm ${path}) and apply again: convergent then owns only the plan's addresses and ports, and any an earlier apply put that the plan no longer has stay on the host until you remove them`,
  );

/** Written whole (temp, fsync, rename): a crash leaves the old record or the new one. */
export function writeRecord(stateDir: string, record: HostRecord): void {
  writeAtomic(join(stateDir, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The plan's addresses and link ports as a record. */
export function recordOf(desired: Pick<Desired, 'addresses' | 'links' | 'bridges'>): HostRecord {
  const ports: Record<string, readonly string[]> = {};
  for (const b of desired.bridges) ports[b.name] = b.ports;
  for (const l of desired.links) if (l.kind === 'bond') ports[l.name] = l.slaves;
  // An address a checkpoint gives back to whoever put it is not convergent's after a rollback.
  const ours = desired.addresses.filter((a) => adoptedOf(a).adopted !== true);
  return { addresses: ours.map(ownedOf), ports };
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

const subnetOf = (a: OwnedAddress) => {
  const c = parseCidr(a.cidr);
  return `${a.dev} ${c === undefined ? a.cidr : formatCidr(networkOf(c))}`;
};

const add = (a: OwnedAddress) => ip('address', 'replace', a.cidr, 'dev', a.dev);
const del = (a: OwnedAddress) => deleteQuietly(['ip', 'address', 'del', a.cidr, 'dev', a.dev]);

/**
 * By device and subnet, as the kernel keeps them (the first is the primary; deleting it takes the
 * others with it unless promote_secondaries is set). Missing ones are added in the plan's order; a
 * subnet whose addresses all go is emptied, secondaries first; one where some go and others stay is
 * done anew in one change (all of convergent's there deleted, secondaries first, then the plan's
 * added in order), so a readdress keeps the plan's primary and secondaries. The devices of such a
 * change are returned too: the kernel drops their routes through that subnet.
 */
export function addressChanges(
  live: readonly LiveAddress[],
  desired: readonly AddressPlan[],
  record: readonly OwnedAddress[],
): { changes: Change[]; readdressed: Set<string> } {
  const present = new Set(live.map(key));
  const want = desired.map(ownedOf);
  const wanted = new Set(want.map(key));
  const owned = new Set([...record.map(key), ...wanted]);
  const ours = live.filter((a) => owned.has(key(a)));
  const changes: Change[] = [];
  const readdressed = new Set<string>();
  const subnets = [...new Set([...want, ...ours].map(subnetOf))];
  for (const subnet of subnets) {
    const before = ours.filter((a) => subnetOf(a) === subnet);
    const after = want.filter((a) => subnetOf(a) === subnet);
    const gone = before.filter((a) => !wanted.has(key(a)));
    const missing = after.filter((a) => !present.has(key(a)));
    const source = (a: OwnedAddress) => desired.find((d) => key(ownedOf(d)) === key(a))?.source;
    if (gone.length === 0) {
      for (const a of missing)
        changes.push(
          change('addresses', 'add', `address ${a.cidr} dev ${a.dev}`, [add(a)], { source: source(a) }),
        );
    } else if (after.length === 0) {
      for (const a of [...gone].reverse())
        changes.push(change('addresses', 'delete', `address ${a.cidr} dev ${a.dev}`, [del(a)]));
    } else {
      const dev = after[0]?.dev as string;
      readdressed.add(dev);
      const detail = `${before.map((a) => a.cidr).join(' ')} -> ${after.map((a) => a.cidr).join(' ')}`;
      const commands = [...[...before].reverse().map(del), ...after.map(add)];
      changes.push(
        change('addresses', 'change', `addresses dev ${dev}`, commands, {
          detail,
          source: source(after[0] as OwnedAddress),
        }),
      );
    }
  }
  return { changes, readdressed };
}
