// What every part of the cluster's validation shares: how it reports a problem, who owns an
// address, and the words for "inside a subnet" and "known names".
import type { SpecPath } from '../../../input/problem.ts';
import { contains, formatIPv4, formatPrefix, isReserved, type Prefix } from '../../../util/ipv4.ts';

export type Report = (path: SpecPath, message: string, fix?: string, atKey?: boolean) => void;

/** Who already uses an address, for "duplicate address" messages: "node node1 (uplink)". */
export type AddressOwners = Map<number, string>;

export function claim(
  owners: AddressOwners,
  address: number,
  who: string,
  path: SpecPath,
  report: Report,
): void {
  const previous = owners.get(address);
  if (previous !== undefined) {
    report(
      path,
      `address ${formatIPv4(address)} is already used by ${previous}`,
      'give every node, gateway and guest its own address',
    );
    return;
  }
  owners.set(address, who);
}

export function checkInside(
  subnet: Prefix,
  subnetName: string,
  address: number,
  what: string,
  path: SpecPath,
  report: Report,
): boolean {
  if (!contains(subnet, address)) {
    report(
      path,
      `${what} ${formatIPv4(address)} is outside ${subnetName} (${formatPrefix(subnet)})`,
      `choose an address inside ${formatPrefix(subnet)}`,
    );
    return false;
  }
  if (isReserved(subnet, address)) {
    report(
      path,
      `${what} ${formatIPv4(address)} is the network or broadcast address of ${formatPrefix(subnet)}`,
      `choose a host address inside ${formatPrefix(subnet)}`,
    );
    return false;
  }
  return true;
}

export function knownList(what: string, names: Set<string>): string {
  if (names.size === 0) return `there are no ${what} defined yet`;
  const list = [...names].slice(0, 8).join(', ');
  return `known ${what}: ${list}${names.size > 8 ? ', …' : ''}`;
}

/** What a forward or a proxy leads to and where: a known guest, on known nodes. */
export function checkGuestAndNodes(
  what: 'forward' | 'proxy',
  x: { readonly to: string; readonly nodes?: readonly string[] },
  base: SpecPath,
  names: { readonly guests: Set<string>; readonly nodes: Set<string> },
  report: Report,
): void {
  if (!names.guests.has(x.to))
    report([...base, 'to'], `${what} to unknown guest "${x.to}"`, knownList('guests', names.guests));
  (x.nodes ?? []).forEach((node, j) => {
    if (!names.nodes.has(node))
      report([...base, 'nodes', j], `${what} on unknown node "${node}"`, knownList('nodes', names.nodes));
  });
}
