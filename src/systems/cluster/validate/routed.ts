// IP-less routed networks (mode routed, F18/F19): what each needs on its own (a trunk, an upstream
// gateway, an ARP address no one else has, a routing table rt_tables can name, a /64 for SLAAC) and
// what two of them cannot share (a table, an uplink device: one `iif` rule each). The fields of the
// bridging modes are refused on them and theirs on the other modes.
import type { SpecPath } from '../../../input/problem.ts';
import { type Cidr, inCidr, networkOf, parseAddress } from '../../../util/ip.ts';
import { contains, formatIPv4, formatPrefix, lastAddress, type Prefix } from '../../../util/ipv4.ts';
import { isMulticast } from '../../../util/mac.ts';
import { allocateTables, FIRST_TABLE, RESERVED_TABLES } from '../resolve-routed.ts';
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import { checkTrunk, exampleTrunk } from './bridged.ts';
import { freeVlan } from './bridges.ts';
import { type AddressOwners, checkInside, claim, knownList, type Report } from './common.ts';

/** The fields only routed networks have, refused on the other modes. */
const ROUTED_ONLY = ['table', 'arpAddress', 'subnet6', 'gateway6', 'tapMac', 'router'] as const;

/** One routed network on its own; its addresses (gateway, ARP address) join `owners`. */
export function checkRoutedNetwork(
  spec: ClusterSpec,
  name: string,
  network: NetworkSpec,
  owners: AddressOwners,
  report: Report,
): void {
  const base = ['networks', name];
  checkOtherModesFields(name, network, report);
  if ([...RESERVED_TABLES.values()].includes(name))
    report(
      base,
      `network ${name} names its routing table, and "${name}" is iproute2's own table ${[...RESERVED_TABLES].find(([, n]) => n === name)?.[0]} in rt_tables`,
      `rename the network, e.g. ${name}-net`,
      true,
    );
  if (network.trunk === undefined)
    report(
      base,
      `routed network ${name} does not say which link carries it to the other nodes and its gateway`,
      `add its trunk (the NIC or bond carrying it)${network.vlan === undefined ? ' and VLAN' : ''}: trunk: ${exampleTrunk(spec)}${network.vlan === undefined ? `, vlan: ${freeVlan(spec, exampleTrunk(spec))}` : ''}`,
    );
  else {
    const device = network.vlan === undefined ? network.trunk : `${network.trunk}.${network.vlan}`;
    checkTrunk(
      spec,
      { name, mtu: network.mtu, uplink: { trunk: network.trunk, vlan: network.vlan, device } },
      report,
    );
  }
  if (network.subnet.length > 29)
    report(
      [...base, 'subnet'],
      `routed subnet ${formatPrefix(network.subnet)} has no room for a gateway, an ARP address and guests`,
      'write a /29 or a larger subnet',
    );
  else checkAddresses(name, network, owners, report);
  checkTable(spec, name, network, report);
  checkIpv6(name, network, report);
  if (network.tapMac !== undefined && isMulticast(network.tapMac))
    report(
      [...base, 'tapMac'],
      `tapMac ${network.tapMac} is a multicast address: the guests would not take it for their router's`,
      'write a unicast MAC (the lowest bit of the first octet clear), or leave "tapMac:" out for cc:47:52:4e:45:54',
    );
  if (network.router !== undefined && !Object.hasOwn(spec.nodes, network.router))
    report(
      [...base, 'router'],
      `network ${name}'s router is unknown node "${network.router}"`,
      knownList('nodes', new Set(Object.keys(spec.nodes))),
    );
}

/** The bridging modes' fields: a routed network has no bridge, no node addresses, no pipes, no pool. */
function checkOtherModesFields(name: string, network: NetworkSpec, report: Report): void {
  const why = (field: string, mode: string) =>
    `"${field}" belongs to ${mode} networks; network ${name} is routed: no bridge, the nodes route its guests' addresses to their taps`;
  const refuse = (field: keyof NetworkSpec, mode: string) =>
    report(['networks', name, field], why(field, mode), `remove "${field}:"`, true);
  for (const field of ['macPrefix', 'pool', 'slot'] as const)
    if (network[field] !== undefined) refuse(field, 'private');
  if (network.bridge !== undefined) refuse('bridge', 'gateway, bridged and private');
  if (network.nodes !== undefined) refuse('nodes', 'gateway');
  if (network.pipes.length > 0) refuse('pipes', 'gateway');
  if (network.stp) refuse('stp', 'gateway');
  if (network.forwardDelay !== undefined) refuse('forwardDelay', 'gateway');
}

/** Routed fields on a network of another mode. */
export function checkRoutedOnlyFields(name: string, network: NetworkSpec, report: Report): void {
  // A gateway network may have a router node (seed 004) and, inserting an appliance, a steering table.
  const shared = network.mode === 'gateway' ? new Set(['table', 'router']) : new Set();
  for (const field of ROUTED_ONLY)
    if (network[field] !== undefined && !shared.has(field))
      report(
        ['networks', name, field],
        `"${field}" belongs to routed networks; network ${name} is ${network.mode}`,
        `remove "${field}:", or write mode: routed`,
        true,
      );
}

/** The gateway (required) and the ARP address, inside the subnet, apart from each other and every guest. */
function checkAddresses(name: string, network: NetworkSpec, owners: AddressOwners, report: Report): void {
  const base = ['networks', name];
  const { subnet, gateway } = network;
  if (gateway === undefined) {
    report(
      base,
      `routed network ${name} has no gateway, its guests' default router (upstream, or the router node's address)`,
      `add "gateway:", an address inside ${formatPrefix(subnet)}`,
    );
  } else if (checkInside(subnet, `network ${name}`, gateway, 'the gateway', [...base, 'gateway'], report))
    claim(owners, gateway, `the gateway of network ${name}`, [...base, 'gateway'], report);
  const written = network.arpAddress;
  const arp = written ?? lastAddress(subnet) - 1;
  const path: SpecPath = written === undefined ? base : [...base, 'arpAddress'];
  if (written !== undefined && !checkInside(subnet, `network ${name}`, arp, 'the ARP address', path, report))
    return;
  if (arp === gateway) {
    report(
      path,
      written === undefined
        ? `network ${name}'s ARP address is its subnet's last host ${formatIPv4(arp)} when "arpAddress:" is left out, and that is its gateway`
        : `the ARP address ${formatIPv4(arp)} is network ${name}'s gateway: the nodes would claim the router's address`,
      `write arpAddress: ${formatIPv4(freeHost(subnet, new Set([arp, ...owners.keys()])))}, an address no one has`,
    );
    return;
  }
  claim(
    owners,
    arp,
    `the ARP address of network ${name}${written === undefined ? ' (its last host: "arpAddress:" is left out)' : ''}`,
    path,
    report,
  );
}

/** A host of the subnet no one has, from the last down. */
function freeHost(subnet: Prefix, taken: ReadonlySet<number>): number {
  let host = lastAddress(subnet) - 1;
  while (taken.has(host) && contains(subnet, host - 1) && host - 1 !== subnet.network) host--;
  return host;
}

/** A table rt_tables has not named already: 253-255 are default, main and local. */
function checkTable(spec: ClusterSpec, name: string, network: NetworkSpec, report: Report): void {
  const id = network.table ?? network.vlan;
  const reserved = id === undefined ? undefined : RESERVED_TABLES.get(id);
  if (reserved === undefined) return;
  report(
    ['networks', name, network.table === undefined ? 'vlan' : 'table'],
    network.table === undefined
      ? `network ${name}'s routing table is its VLAN, ${id}, when "table:" is left out, and table ${id} is iproute2's ${reserved} table`
      : `table ${id} is iproute2's ${reserved} table`,
    `write table: ${freeTable(spec)}`,
  );
}

/** subnet6 a /64 (SLAAC), with its gateway6 inside; neither without the other. */
function checkIpv6(name: string, network: NetworkSpec, report: Report): void {
  const base = ['networks', name];
  const { subnet6, gateway6 } = network;
  if (subnet6 === undefined) {
    if (gateway6 !== undefined)
      report(
        [...base, 'gateway6'],
        `gateway6 routes the guests' subnet6, and network ${name} has none`,
        'add "subnet6:" (a /64), or remove "gateway6:"',
        true,
      );
    return;
  }
  if (subnet6.length !== 64)
    report(
      [...base, 'subnet6'],
      `subnet6 ${subnet6.text}/${subnet6.length} is a /${subnet6.length}: the guests configure their addresses by SLAAC, which takes a /64`,
      `write a /64, e.g. subnet6: ${first64(subnet6)}`,
    );
  if (gateway6 === undefined)
    report(
      [...base, 'subnet6'],
      `network ${name} has subnet6 and no gateway6, its guests' IPv6 default router`,
      `add gateway6: an address inside ${first64(subnet6)}`,
    );
  else if (!inCidr(subnet6, parseAddress(gateway6) ?? { family: 6, text: '::' }))
    report(
      [...base, 'gateway6'],
      `gateway6 ${gateway6} is outside subnet6 (${subnet6.text}/${subnet6.length})`,
      `choose an address inside ${subnet6.text}/${subnet6.length}`,
    );
}

const first64 = (c: Cidr) => `${networkOf({ ...c, length: 64 }).text}/64`;

/** Between routed networks: a table each, an uplink device each, IPv6 subnets apart. */
/** Ten rule preferences each from 1000 (compile/routing.ts): 100 networks fill 1000-1999. */
const MAX_ROUTED = 100;

export function checkRoutedBetween(spec: ClusterSpec, report: Report): void {
  const entries = Object.entries(spec.networks).filter(([, n]) => n.mode === 'routed');
  const [over] = entries.slice(MAX_ROUTED);
  if (over)
    report(
      ['networks', over[0]],
      `network ${over[0]} is routed network ${MAX_ROUTED + 1}: a node holds at most ${MAX_ROUTED} (their policy rules take preferences 1000-1999, ten each)`,
      `carry more of them as one routed network with a larger subnet, or make network ${over[0]} bridged`,
    );
  const tables = allocateTables(entries);
  const byTable = new Map<number, string>();
  const byDevice = new Map<string, string>();
  const seen6: [string, Cidr][] = [];
  for (const [name, net] of entries) {
    const table = tables.get(name);
    const owner = table === undefined ? undefined : byTable.get(table.id);
    if (table && owner !== undefined && !RESERVED_TABLES.has(table.id))
      report(
        ['networks', name, net.table === undefined ? 'vlan' : 'table'],
        net.table === undefined
          ? `network ${name}'s routing table is its VLAN, ${table.id}, when "table:" is left out, and table ${table.id} is already network ${owner}'s`
          : `table ${table.id} is already network ${owner}'s`,
        `write table: ${freeTable(spec)}`,
      );
    else if (table) byTable.set(table.id, name);
    if (net.trunk !== undefined) checkDevice(name, net, net.trunk, byDevice, report);
    if (net.subnet6 === undefined) continue;
    const other = seen6.find(
      ([, c]) => inCidr(c, networkOf(net.subnet6 as Cidr)) || inCidr(net.subnet6 as Cidr, c),
    );
    if (other)
      report(
        ['networks', name, 'subnet6'],
        `network ${name}'s subnet6 (${net.subnet6.text}/${net.subnet6.length}) overlaps network ${other[0]}'s (${other[1].text}/${other[1].length})`,
        'give each routed network its own /64',
      );
    else seen6.push([name, net.subnet6]);
  }
}

/** One routed network per uplink device: the node tells them apart by the `iif` rule into each table. */
function checkDevice(
  name: string,
  net: NetworkSpec,
  trunk: string,
  byDevice: Map<string, string>,
  report: Report,
): void {
  const device = net.vlan === undefined ? trunk : `${trunk}.${net.vlan}`;
  const owner = byDevice.get(device);
  if (owner === undefined) {
    byDevice.set(device, name);
    return;
  }
  report(
    ['networks', name, net.vlan === undefined ? 'trunk' : 'vlan'],
    `network ${name} is carried on ${device}, as routed network ${owner} is: the nodes route what arrives on a device into one network's table (one "iif" rule each)`,
    `give network ${name} a VLAN of its own on ${trunk}`,
  );
}

/** The lowest table no routed network has (pinned, by its VLAN or allocated), from FIRST_TABLE, not rt_tables' own. */
function freeTable(spec: ClusterSpec): number {
  const entries = Object.entries(spec.networks).filter(([, n]) => n.mode === 'routed');
  const taken = new Set([...allocateTables(entries).values()].map((t) => t.id));
  let id = FIRST_TABLE;
  while (taken.has(id) || RESERVED_TABLES.has(id)) id++;
  return id;
}
