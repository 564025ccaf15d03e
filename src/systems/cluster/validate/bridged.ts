// Networks the nodes only bridge (modes bridged and private): what each mode needs and refuses, on
// its own. What networks must agree on between them (bridges, MAC prefixes, VLANs, pools) is in
// bridges.ts and pools.ts.
import type { SpecPath } from '../../../input/problem.ts';
import type { BridgedNetwork } from '../model.ts';
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import { freeMacPrefix, freeVlan } from './bridges.ts';
import { type AddressOwners, checkInside, claim, knownList, type Report } from './common.ts';
import {
  bondOf,
  declaredUnder,
  exists,
  kindOf,
  type LinkSet,
  mtuMeant,
  onEveryNode,
  vlanOf,
} from './links.ts';

/** One network of mode bridged or private, as written and as resolved. */
export function checkBridgedNetwork(
  spec: ClusterSpec,
  net: { readonly spec: NetworkSpec; readonly resolved: BridgedNetwork },
  owners: AddressOwners,
  report: Report,
): void {
  const { spec: network, resolved } = net;
  const name = resolved.name;
  const base = ['networks', name];
  checkGatewayFields(name, network, report);
  if (network.mode === 'bridged') checkBridgedFields(spec, name, network, report);
  else checkPrivateFields(spec, name, network, report);
  if (network.gateway !== undefined) {
    const path = [...base, 'gateway'];
    if (checkInside(network.subnet, `network ${name}`, network.gateway, 'the gateway', path, report))
      claim(owners, network.gateway, `the gateway of network ${name}`, path, report);
  }
  if (network.vlan !== undefined && network.trunk === undefined && network.pool === undefined)
    report(
      [...base, 'vlan'],
      `"vlan:" tags network ${name}'s frames on its trunk, and it names none`,
      `add "trunk:", e.g. trunk: ${exampleTrunk(spec)}`,
    );
  if (network.pool === undefined && network.trunk !== undefined) checkTrunk(spec, resolved, report);
}

/** What only a gateway network has: node addresses, pipes, STP over the pipes. */
function checkGatewayFields(name: string, network: NetworkSpec, report: Report): void {
  const base = ['networks', name];
  const why = `network ${name} is ${network.mode}: the nodes have no address on it and reach each other over its trunk`;
  if (network.nodes !== undefined) report([...base, 'nodes'], why, 'remove "nodes:"');
  if (network.pipes.length > 0)
    report([...base, 'pipes'], why, 'remove "pipes:", and carry it on a "trunk:"');
  if (network.stp)
    report(
      [...base, 'stp'],
      `stp runs over a gateway network's pipes; network ${name} is ${network.mode}`,
      'remove "stp:"',
    );
  if (network.forwardDelay !== undefined)
    report(
      [...base, 'forwardDelay'],
      `forwardDelay applies to STP over a gateway network's pipes; network ${name} is ${network.mode}`,
      'remove "forwardDelay:"',
    );
}

function checkBridgedFields(spec: ClusterSpec, name: string, network: NetworkSpec, report: Report): void {
  const base = ['networks', name];
  for (const field of ['macPrefix', 'pool', 'slot'] as const)
    if (network[field] !== undefined)
      report(
        [...base, field],
        `"${field}" belongs to private networks; network ${name} is bridged`,
        `remove "${field}:", or write mode: private`,
      );
  if (network.trunk === undefined)
    report(
      base,
      `bridged network ${name} does not say how its bridge reaches the other nodes and the upstream router`,
      `add its trunk (the NIC or bond carrying it) and VLAN: trunk: ${exampleTrunk(spec)}, vlan: ${network.vlan ?? freeVlan(spec, exampleTrunk(spec))}`,
    );
}

/** Kept apart by MAC prefix on a shared bridge, or by a VLAN of its own from a pool: one of the two. */
function checkPrivateFields(spec: ClusterSpec, name: string, network: NetworkSpec, report: Report): void {
  const base = ['networks', name];
  if (network.pool !== undefined && network.macPrefix !== undefined) {
    report(
      [...base, 'pool'],
      `private network ${name} is kept apart either by its MAC prefix on a shared bridge or by a VLAN of its own from a pool, not both`,
      'remove "pool:" or "macPrefix:"',
    );
    return;
  }
  if (network.pool === undefined && network.macPrefix === undefined)
    report(
      base,
      `private network ${name} says neither its MAC prefix (guests on a shared bridge) nor its pool (a VLAN of its own)`,
      Object.keys(spec.vlanPools).length > 0
        ? `add pool: ${Object.keys(spec.vlanPools)[0]}, or macPrefix: "${freeMacPrefix(spec)}"`
        : `add macPrefix: "${freeMacPrefix(spec)}" (any locally administered prefix no other network has)`,
    );
  if (network.pool !== undefined) {
    if (!(network.pool in spec.vlanPools))
      report(
        [...base, 'pool'],
        `network ${name} takes its VLAN from unknown pool "${network.pool}"`,
        knownList('pools', new Set(Object.keys(spec.vlanPools))),
      );
    for (const field of ['trunk', 'vlan'] as const)
      if (network[field] !== undefined)
        report(
          [...base, field],
          `network ${name} takes its trunk and VLAN from pool ${network.pool}`,
          `remove "${field}:"`,
        );
  } else if (network.slot !== undefined)
    report(
      [...base, 'slot'],
      `slot pins a network to a slot of its pool, and network ${name} has no pool`,
      'remove "slot:", or add "pool:"',
    );
  if (
    network.macPrefix !== undefined &&
    network.pool === undefined &&
    network.trunk === undefined &&
    Object.keys(spec.nodes).length > 1
  )
    report(
      base,
      `private network ${name} has no trunk: its guests on different nodes cannot reach each other`,
      `add its trunk and VLAN, e.g. ${sharedPrivate(spec) ?? `trunk: ${exampleTrunk(spec)}, vlan: ${freeVlan(spec, exampleTrunk(spec))}`}`,
    );
}

/** A network carried between the nodes on a trunk (bridged, private, routed): its VLAN device and MTU. */
export interface Carried {
  readonly name: string;
  readonly uplink?: { readonly trunk: string; readonly vlan?: number; readonly device: string };
  readonly mtu?: number;
  readonly pool?: unknown;
}

/** The network's trunk on every node: one the node has, its VLAN device one Linux takes, large enough. */
export function checkTrunk(spec: ClusterSpec, net: Carried, report: Report): void {
  const uplink = net.uplink;
  if (!uplink) return;
  // A trunk the nodes lack is one problem, said at the first network it carries.
  const first = Object.entries(spec.networks).find(
    ([, n]) => n.mode !== 'gateway' && n.pool === undefined && n.trunk === uplink.trunk,
  )?.[0];
  onEveryNode(spec, report, (set, r) => {
    const at = ['networks', net.name, 'trunk'];
    if (first !== net.name && !exists(set, uplink.trunk)) return;
    if (checkTrunkOn(set, uplink.trunk, uplink.vlan !== undefined, at, r)) checkDevice(set, net, r);
  });
}

/** A pool's or a network's trunk on one node: a NIC or bond it has, not a bond's slave. */
export function checkTrunkOn(
  set: LinkSet,
  trunk: string,
  tagged: boolean,
  at: SpecPath,
  report: Report,
): boolean {
  if (!exists(set, trunk)) {
    report(
      at,
      `trunk ${trunk} is no interface the nodes have`,
      `declare it under interfaces: (a NIC: ${trunk}: {}, or a bond: ${trunk}: { bond: { slaves: [eno1, eno2] } }), or name one that is`,
    );
    return false;
  }
  const bond = bondOf(set, trunk);
  if (bond !== undefined) {
    report(
      at,
      `trunk ${trunk} is a slave of bond ${bond}, which takes its frames`,
      `carry the network on the bond: trunk: ${bond}`,
    );
    return false;
  }
  if (kindOf(set, trunk) === 'vlan' && tagged) {
    report(
      at,
      `trunk ${trunk} is itself a VLAN; a tagged network's trunk is a NIC or a bond`,
      `write trunk: ${vlanOf(set, trunk)?.parent}`,
    );
    return false;
  }
  return true;
}

/** The bridge's port: a name Linux takes, with an MTU no smaller than the network's. */
export function checkDevice(set: LinkSet, net: Carried, report: Report): boolean {
  const uplink = net.uplink;
  if (!uplink) return true;
  const at = ['networks', net.name, net.pool ? 'pool' : uplink.vlan === undefined ? 'trunk' : 'vlan'];
  if (uplink.device.length > 15) {
    report(
      at,
      `the VLAN device ${uplink.device} has ${uplink.device.length} characters; Linux interface names have at most 15`,
      `declare it under a shorter name: v${uplink.vlan}: { vlan: { parent: ${uplink.trunk}, id: ${uplink.vlan} } }, and write trunk: v${uplink.vlan} without "vlan:"`,
    );
    return false;
  }
  const deviceMtu = mtuMeant(set, uplink.device);
  if (net.mtu !== undefined && net.mtu > deviceMtu) {
    report(
      ['networks', net.name, 'mtu'],
      `network ${net.name}'s MTU ${net.mtu} is above that of its trunk ${uplink.device} (${deviceMtu}): its larger frames cannot leave the node`,
      `write mtu: ${net.mtu} on ${uplink.trunk} ${declaredUnder(set, uplink.trunk)}, or lower the network's to ${deviceMtu}`,
    );
    return false;
  }
  return true;
}

/** The trunk and VLAN of the private networks by MAC prefix that have one: the bridge to share. */
function sharedPrivate(spec: ClusterSpec): string | undefined {
  const net = Object.values(spec.networks).find(
    (n) =>
      n.mode === 'private' && n.macPrefix !== undefined && n.trunk !== undefined && n.bridge === undefined,
  );
  return net && `trunk: ${net.trunk}${net.vlan === undefined ? '' : `, vlan: ${net.vlan}`}`;
}

/** A trunk to show in a fix: a declared bond, else a declared NIC, else the uplink's port. */
export function exampleTrunk(spec: ClusterSpec): string {
  const names = Object.entries(spec.interfaces);
  return (
    names.find(([, i]) => i.bond)?.[0] ??
    names.find(([n, i]) => !i.vlan && !n.includes('.'))?.[0] ??
    spec.uplink.ports[0] ??
    'bond0'
  );
}
