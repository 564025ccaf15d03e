// One guest NIC: an address of its own inside its network (private networks are address spaces of
// their own), and a MAC of its own: unicast, outside the nodes' tag prefix, required where the port
// lets only that MAC through (bridged and private networks), and inside a private network's prefix.
// On a routed network the tap checks addresses, not the MAC: an IPv6 address inside subnet6, its
// own or the EUI-64 of its MAC.
import type { SpecPath } from '../../../input/problem.ts';
import { eui64, inCidr, parseAddress } from '../../../util/ip.ts';
import { formatPrefix } from '../../../util/ipv4.ts';
import { isMulticast } from '../../../util/mac.ts';
import { TAP_MAC } from '../resolve-routed.ts';
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import { type AddressOwners, checkInside, claim, type Report } from './common.ts';

/** A NIC as written: in a guest's "nics:", or the one-NIC form (legacy) on the guest itself. */
export interface NicView {
  readonly guest: string;
  readonly index: number;
  readonly legacy: boolean;
  readonly network?: string;
  readonly mac?: string;
  readonly address?: number;
  readonly address6?: string;
  /** Where the NIC is: guests.vm1, or guests.vm1.nics[1]. */
  readonly at: SpecPath;
  readonly field: (name: 'network' | 'mac' | 'address' | 'address6') => SpecPath;
}

/** What the NICs seen so far hold: addresses (per private network), MACs, IPv6 addresses. */
export interface NicState {
  readonly owners: AddressOwners;
  readonly privateOwners: Map<string, AddressOwners>;
  /** MAC -> whose ("guest vm1's"). */
  readonly macs: Map<string, string>;
  /** "network address6" -> whose. */
  readonly address6: Map<string, string>;
  /** Private network -> its MAC prefix, where that prefix stands (bridges.ts). */
  readonly prefixes: ReadonlyMap<string, string>;
}

/** "guest vm1's NIC 1". */
export const nicName = (nic: NicView) => `guest ${nic.guest}'s NIC ${nic.index}`;

/** Who holds an address: the guest, for its first NIC; the NIC, for the others. */
const holder = (nic: NicView) => (nic.index === 0 ? `guest ${nic.guest}` : nicName(nic));

export function checkNic(
  spec: ClusterSpec,
  nic: NicView,
  networkName: string | undefined,
  state: NicState,
  report: Report,
): void {
  const network = networkName === undefined ? undefined : spec.networks[networkName];
  checkAddress(nic, networkName, network, state, report);
  const own6 = nic.address6 === undefined || checkAddress6(nic, networkName, nic.address6, state, report);
  if (nic.mac !== undefined) checkMac(spec, nic, nic.mac, state, report);
  if (!network || network.mode === 'gateway') return;
  if (network.mode === 'routed') {
    const tapMac = network.tapMac ?? TAP_MAC;
    if (nic.mac === tapMac)
      report(
        nic.field('mac'),
        `MAC ${nic.mac} is the MAC of network ${networkName}'s taps, the neighbour the guest sends everything to`,
        `write mac: "${freeMac(spec, state)}"`,
      );
    if (own6) checkRoutedAddress6(spec, nic, { name: networkName as string, spec: network }, state, report);
    return;
  }
  if (nic.mac === undefined)
    report(
      nic.at,
      `${nic.legacy ? `guest ${nic.guest}` : nicName(nic)} is on ${network.mode} network ${networkName} without a MAC: its port lets through only the MAC it is given`,
      `add mac: "${freeMac(spec, state, state.prefixes.get(networkName as string))}"`,
    );
  else {
    // Only a prefix that stands: a duplicate or misplaced one is the network's problem, not each NIC's.
    const prefix = state.prefixes.get(networkName as string);
    if (prefix !== undefined) checkPrefix(spec, nic, nic.mac, networkName as string, prefix, state, report);
  }
}

/** NIC 0 has one (forwards, checks and the lab find a guest there); each inside its subnet, its own. */
function checkAddress(
  nic: NicView,
  networkName: string | undefined,
  network: NetworkSpec | undefined,
  state: NicState,
  report: Report,
): void {
  const { address } = nic;
  if (address === undefined) {
    if (nic.index === 0)
      report(
        nic.at,
        nic.legacy
          ? `guest ${nic.guest} has no address`
          : `${nicName(nic)} has no address; a guest's first NIC needs one`,
        nic.legacy
          ? 'add "address:" in its network\'s subnet, or list its "nics:"'
          : `add "address:"${network ? ` inside ${formatPrefix(network.subnet)}` : ''}`,
      );
    return;
  }
  if (!network || networkName === undefined) return;
  const path = nic.field('address');
  const what = nic.legacy ? `guest ${nic.guest}'s address` : `${nicName(nic)} address`;
  if (!checkInside(network.subnet, `network ${networkName}`, address, what, path, report)) return;
  // The nodes and the upstream route the others, which never overlap; a private network is its own.
  let owners = state.owners;
  if (network.mode === 'private') {
    owners = state.privateOwners.get(networkName) ?? new Map();
    state.privateOwners.set(networkName, owners);
  }
  claim(owners, address, holder(nic), path, report);
}

/** A global or unique-local address6, its own; false when it is none. */
function checkAddress6(
  nic: NicView,
  networkName: string | undefined,
  address6: string,
  state: NicState,
  report: Report,
): boolean {
  const path = nic.field('address6');
  const first = Number.parseInt(address6.split(':')[0] || '0', 16);
  const kind =
    address6 === '::' || address6 === '::1'
      ? 'unspecified or loopback'
      : first >= 0xff00
        ? 'multicast'
        : (first & 0xffc0) === 0xfe80
          ? "link-local (the NIC's own, from its MAC, passes its port already)"
          : undefined;
  if (kind) {
    report(
      path,
      `${address6} is ${kind}, not an address of the guest's own`,
      'write a global or unique-local address, e.g. 2001:db8:104::10',
    );
    return false;
  }
  const key = `${networkName} ${address6}`;
  const other = state.address6.get(key);
  if (other)
    report(path, `address ${address6} is already used by ${other}`, 'give every NIC its own address');
  else state.address6.set(key, holder(nic));
  return true;
}

/**
 * On a routed network the node routes a /128 per NIC: its address6 inside subnet6 (none without a
 * subnet6), else the EUI-64 of its MAC (gnt-networking's), neither the gateway6 nor another NIC's.
 */
function checkRoutedAddress6(
  spec: ClusterSpec,
  nic: NicView,
  network: { readonly name: string; readonly spec: NetworkSpec },
  state: NicState,
  report: Report,
): void {
  const { subnet6, gateway6 } = network.spec;
  const range = subnet6 && `${subnet6.text}/${subnet6.length}`;
  const who = nic.legacy ? `guest ${nic.guest}` : nicName(nic);
  if (nic.address6 !== undefined) {
    const path = nic.field('address6');
    if (!subnet6 || !range)
      report(
        path,
        `network ${network.name} has no subnet6: nothing routes ${nic.address6} to ${who}`,
        `add subnet6 (a /64) and gateway6 to network ${network.name}, or remove "address6:"`,
      );
    else if (!inCidr(subnet6, parseAddress(nic.address6) ?? { family: 4, text: '0.0.0.0' }))
      report(
        path,
        `address6 ${nic.address6} is outside network ${network.name}'s subnet6 (${range})`,
        `choose an address inside ${range}, or leave "address6:" out for the EUI-64 of the MAC`,
      );
    else if (nic.address6 === gateway6)
      report(
        path,
        `address6 ${nic.address6} is network ${network.name}'s gateway6`,
        'give the NIC its own address6',
      );
    return;
  }
  if (!subnet6 || !range) return;
  if (nic.mac === undefined) {
    report(
      nic.at,
      `${who} is on network ${network.name}, which has subnet6, with neither address6 nor a MAC: its IPv6 address is the EUI-64 of its MAC`,
      `add mac: "${freeMac(spec, state)}", or address6: an address inside ${range}`,
    );
    return;
  }
  const slaac = eui64(nic.mac, subnet6);
  const key = `${network.name} ${slaac}`;
  const other = slaac === gateway6 ? `network ${network.name}'s gateway6` : state.address6.get(key);
  if (other)
    report(
      nic.field('mac'),
      `${who}'s IPv6 address ${slaac}, the EUI-64 of its MAC, is already used by ${other}`,
      'give the NIC another MAC, or an address6 of its own',
    );
  else state.address6.set(key, holder(nic));
}

/** A MAC of the NIC's own: unicast, unused, and not in the nodes' tag prefix. */
function checkMac(spec: ClusterSpec, nic: NicView, mac: string, state: NicState, report: Report): void {
  const path = nic.field('mac');
  const other = state.macs.get(mac);
  if (other)
    report(
      path,
      `MAC ${mac} is already ${other}`,
      nic.legacy ? 'give every guest its own MAC address' : 'give every NIC its own MAC address',
    );
  else state.macs.set(mac, nic.legacy ? `guest ${nic.guest}'s` : `the MAC of ${nicName(nic)}`);
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

/** On a private network by MAC prefix, the bridge passes a guest's frames only within the prefix. */
function checkPrefix(
  spec: ClusterSpec,
  nic: NicView,
  mac: string,
  networkName: string,
  prefix: string,
  state: NicState,
  report: Report,
): void {
  // ff:ff:f0:00:00:00 keeps "aa:00:1" of "aa:00:10": the first 7 characters.
  if (mac.slice(0, 7) === prefix.slice(0, 7)) return;
  report(
    nic.field('mac'),
    `MAC ${mac} is outside network ${networkName}'s prefix ${prefix} (mask ff:ff:f0:00:00:00): the other guests of ${networkName} drop its frames`,
    `write mac: "${freeMac(spec, state, prefix, mac)}"`,
  );
}

/** A MAC no NIC has: in `prefix` (20 bits) when given, else 52:54:00:…; near `like` when given. */
function freeMac(spec: ClusterSpec, state: NicState, prefix?: string, like?: string): string {
  const used = new Set([...state.macs.keys(), ...allMacs(spec)]);
  const head = (prefix ?? '52:54:00').slice(0, 7);
  let n = like ? Number.parseInt(like.slice(7).replaceAll(':', ''), 16) : 1;
  for (;;) {
    const h = n.toString(16).padStart(7, '0');
    const mac = `${head}${h[0]}:${h.slice(1, 3)}:${h.slice(3, 5)}:${h.slice(5, 7)}`;
    if (!used.has(mac)) return mac;
    n = (n + 1) % 0x10000000;
  }
}

function allMacs(spec: ClusterSpec): string[] {
  return Object.values(spec.guests).flatMap((g) =>
    [g.mac, ...(g.nics ?? []).map((n) => n.mac)].filter((m): m is string => m !== undefined),
  );
}
