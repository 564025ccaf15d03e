// Guests: on a known node and network, at an address of their own inside it, with a MAC of their own.
import { isMulticast } from '../../../util/mac.ts';
import type { ClusterSpec } from '../schema.ts';
import { type AddressOwners, checkInside, claim, knownList, type Report } from './common.ts';

export function checkGuests(
  spec: ClusterSpec,
  nodeNames: Set<string>,
  owners: AddressOwners,
  report: Report,
): void {
  const networkNames = new Set(Object.keys(spec.networks));
  const macs = new Map<string, string>();
  for (const [name, guest] of Object.entries(spec.guests)) {
    const base = ['guests', name];
    if (!nodeNames.has(guest.node))
      report(
        [...base, 'node'],
        `guest ${name} is on unknown node "${guest.node}"`,
        knownList('nodes', nodeNames),
      );
    let netName = guest.network;
    if (netName === undefined) {
      if (networkNames.size > 1) {
        report(
          base,
          `guest ${name} does not say which network it is on`,
          `add "network:" (one of ${[...networkNames].join(', ')})`,
        );
      }
      netName = [...networkNames][0];
    } else if (!networkNames.has(netName)) {
      report(
        [...base, 'network'],
        `guest ${name} is on unknown network "${netName}"`,
        knownList('networks', networkNames),
      );
      netName = undefined;
    }
    const address = guest.address;
    const network = netName === undefined ? undefined : spec.networks[netName];
    if (address === undefined) {
      if (!guest.nics)
        report(
          base,
          `guest ${name} has no address`,
          'add "address:" in its network\'s subnet, or list its "nics:"',
        );
    } else if (
      network &&
      checkInside(
        network.subnet,
        `network ${netName}`,
        address,
        `guest ${name}'s address`,
        [...base, 'address'],
        report,
      )
    ) {
      claim(owners, address, `guest ${name}`, [...base, 'address'], report);
    }
    if (guest.mac !== undefined) checkMac(spec, name, guest.mac, [...base, 'mac'], macs, report);
  }
}

/** A MAC of the guest's own: unicast, unused, and not in the nodes' tag prefix. */
function checkMac(
  spec: ClusterSpec,
  name: string,
  mac: string,
  path: (string | number)[],
  macs: Map<string, string>,
  report: Report,
): void {
  const other = macs.get(mac);
  if (other) report(path, `MAC ${mac} is already guest ${other}'s`, 'give every guest its own MAC address');
  else macs.set(mac, name);
  if (isMulticast(mac))
    report(
      path,
      `MAC ${mac} is a multicast address`,
      'a guest MAC has the lowest bit of its first octet clear, e.g. 52:54:00:…',
    );
  if (mac.startsWith(`${spec.tagMacPrefix}:`)) {
    report(
      path,
      `MAC ${mac} starts with ${spec.tagMacPrefix}:, the prefix of the nodes' guest-bridge MACs; the pipes would take this guest for a node`,
      `choose another first octet, or set "tagMacPrefix" to an octet no guest uses`,
    );
  }
}
