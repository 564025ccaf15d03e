// Guests: on a known node, in one of the two forms (network/address/mac on the guest, or a list of
// NICs), each NIC on a known network; the NICs themselves are checked in nics.ts.
import { formatPrefix, overlaps } from '../../../util/ipv4.ts';
import type { ClusterSpec, GuestSpec } from '../schema.ts';
import { standingPrefixes } from './bridges.ts';
import { type AddressOwners, knownList, type Report } from './common.ts';
import { checkNic, type NicState, type NicView, nicName } from './nics.ts';

export function checkGuests(
  spec: ClusterSpec,
  nodeNames: Set<string>,
  owners: AddressOwners,
  report: Report,
): void {
  const state: NicState = {
    owners,
    macs: new Map(),
    privateOwners: new Map(),
    address6: new Map(),
    prefixes: standingPrefixes(spec),
  };
  for (const [name, guest] of Object.entries(spec.guests)) {
    const base = ['guests', name];
    if (!nodeNames.has(guest.node))
      report(
        [...base, 'node'],
        `guest ${name} is on unknown node "${guest.node}"`,
        knownList('nodes', nodeNames),
      );
    const nics = nicsOf(name, guest);
    if (guest.nics) checkOneForm(name, guest, report);
    const networks = nics.map((nic) => networkOf(spec, nic, report));
    nics.forEach((nic, i) => {
      checkNic(spec, nic, networks[i], state, report);
    });
    checkOverlaps(spec, nics, networks, report);
  }
}

/** The guest's NICs: its list, or the one-NIC form as NIC 0 (the fields on the guest itself). */
export function nicsOf(name: string, guest: GuestSpec): NicView[] {
  const base = ['guests', name];
  if (!guest.nics)
    return [
      {
        guest: name,
        index: 0,
        legacy: true,
        network: guest.network,
        mac: guest.mac,
        address: guest.address,
        at: base,
        field: (f) => [...base, f],
      },
    ];
  return guest.nics.map((nic, index) => {
    const at = [...base, 'nics', index];
    return { guest: name, index, legacy: false, ...nic, at, field: (f) => [...at, f] };
  });
}

/** "nics:" or network/address/mac on the guest: both would leave NIC 0 said twice. */
function checkOneForm(name: string, guest: GuestSpec, report: Report): void {
  for (const field of ['network', 'address', 'mac'] as const)
    if (guest[field] !== undefined)
      report(
        ['guests', name, field],
        `guest ${name} lists its "nics:" and also has "${field}:", NIC 0's in the one-NIC form`,
        `move "${field}:" into its first NIC (nics: [{ network: …, address: …, mac: … }]), or remove it`,
        true,
      );
}

/** The NIC's network: the one it names, else the only one there is. */
function networkOf(spec: ClusterSpec, nic: NicView, report: Report): string | undefined {
  const names = Object.keys(spec.networks);
  const who = nic.legacy ? `guest ${nic.guest}` : nicName(nic);
  if (nic.network === undefined) {
    if (names.length > 1)
      report(
        nic.at,
        `${who} does not say which network it is on`,
        `add "network:" (one of ${names.join(', ')})`,
      );
    return names.length === 1 ? names[0] : undefined;
  }
  if (Object.hasOwn(spec.networks, nic.network)) return nic.network;
  report(
    nic.field('network'),
    `${who} is on unknown network "${nic.network}"`,
    knownList('networks', new Set(names)),
  );
  return undefined;
}

/** NICs on two networks whose subnets overlap: the guest could not tell which one reaches an address. */
function checkOverlaps(
  spec: ClusterSpec,
  nics: NicView[],
  networks: (string | undefined)[],
  report: Report,
): void {
  nics.forEach((nic, j) => {
    const b = networks[j];
    const netB = b === undefined ? undefined : spec.networks[b];
    if (!netB) return;
    for (let i = 0; i < j; i++) {
      const a = networks[i];
      const netA = a === undefined ? undefined : spec.networks[a];
      if (!netA || a === b || !overlaps(netA.subnet, netB.subnet)) continue;
      report(
        nic.field('network'),
        `guest ${nic.guest}'s NICs ${i} (network ${a}, ${formatPrefix(netA.subnet)}) and ${j} (network ${b}, ${formatPrefix(netB.subnet)}) are on overlapping subnets: the guest cannot tell which one reaches an address there`,
        `put NIC ${j} on a network whose subnet does not overlap ${formatPrefix(netA.subnet)}`,
      );
      return;
    }
  });
}
