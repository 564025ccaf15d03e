// Guest networks: subnets apart from each other and the uplink, their own bridges, an address on
// every node, and pipes that join the nodes. Networks of modes bridged and private: bridged.ts;
// routed ones: routed.ts.
//
// Subnets: the nodes route the uplink, the gateway and the routed networks, and the upstream router
// routes the bridged ones, so none of these may overlap. A private network has no router at all: its subnet
// is its tenants' own address space (Synnefo lets every private network use 192.168.0.0/24), so
// private networks may overlap each other and anything else; only a guest with NICs on two
// overlapping subnets is refused (guests.ts), as it could not tell which NIC reaches an address.
import { formatPrefix, overlaps, type Prefix } from '../../../util/ipv4.ts';
import { resolveBridged } from '../resolve-hosts.ts';
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import { checkBridgedNetwork } from './bridged.ts';
import { checkBridges } from './bridges.ts';
import { type AddressOwners, checkInside, claim, knownList, type Report } from './common.ts';
import { checkPipes } from './pipes.ts';
import { checkPools } from './pools.ts';
import { checkPorts } from './ports.ts';
import { checkRoutedBetween, checkRoutedNetwork, checkRoutedOnlyFields } from './routed.ts';

export function checkNetworks(
  spec: ClusterSpec,
  nodeNames: Set<string>,
  owners: AddressOwners,
  report: Report,
): void {
  const seenNets: [string, Prefix][] = [];
  const bridges = new Map<string, string>();
  const pipeUse = new Map<string, string>(); // "node/ifname" -> where
  const bridged = new Map(resolveBridged(spec).map((n) => [n.name, n]));
  for (const [name, network] of Object.entries(spec.networks)) {
    const apart = network.mode === 'private' || checkSubnet(spec, name, network, seenNets, report);
    if (network.mode === 'routed') {
      // Over another network, its addresses would clash with that one's: one problem, the overlap.
      checkRoutedNetwork(spec, name, network, apart ? owners : new Map(), report);
      continue;
    }
    checkRoutedOnlyFields(name, network, report);
    const resolved = bridged.get(name);
    if (resolved) {
      checkBridgedNetwork(spec, { spec: network, resolved }, owners, report);
      continue;
    }
    checkBridge(spec, name, network, bridges, report);
    checkAddresses(name, network, nodeNames, owners, report);
    checkPipes(spec, name, nodeNames, pipeUse, report);
  }
  checkBridges(spec, [...bridged.values()], report);
  checkPools(spec, [...bridged.values()], report);
  checkPorts(spec, [...bridged.values()], report);
  checkRoutedBetween(spec, report);
  if (Object.keys(spec.networks).length === 0) {
    report(
      ['networks'],
      'the cluster has no guest network',
      'add a network with its subnet, anycast gateway and node addresses',
    );
  }
}

/** Apart from the uplink and from the networks before it (`seen`, which it joins); false when not. */
function checkSubnet(
  spec: ClusterSpec,
  name: string,
  network: NetworkSpec,
  seen: [string, Prefix][],
  report: Report,
): boolean {
  const { subnet } = network;
  const uplink = spec.uplink.subnet;
  let apart = true;
  if (overlaps(subnet, uplink)) {
    apart = false;
    report(
      ['networks', name, 'subnet'],
      `network ${name} (${formatPrefix(subnet)}) overlaps the uplink subnet (${formatPrefix(uplink)})`,
      'guest networks and the uplink must not overlap',
    );
  }
  for (const [other, otherNet] of seen) {
    if (overlaps(subnet, otherNet)) {
      apart = false;
      report(
        ['networks', name, 'subnet'],
        `network ${name} (${formatPrefix(subnet)}) overlaps network ${other} (${formatPrefix(otherNet)})`,
        'give each guest network its own subnet',
      );
    }
  }
  seen.push([name, subnet]);
  return apart;
}

/** A bridge of its own (`bridges`: bridge -> network), not the uplink's. */
function checkBridge(
  spec: ClusterSpec,
  name: string,
  network: NetworkSpec,
  bridges: Map<string, string>,
  report: Report,
): void {
  const path = ['networks', name, 'bridge'];
  const bridge = network.bridge ?? 'guestbr0';
  const otherBridge = bridges.get(bridge);
  if (otherBridge) {
    report(
      path,
      `bridge ${bridge} is already the bridge of network ${otherBridge}`,
      'give each guest network its own bridge',
    );
  } else bridges.set(bridge, name);
  if (bridge === spec.uplink.bridge || Object.values(spec.nodes).some((n) => n.uplink?.bridge === bridge)) {
    report(
      path,
      `bridge ${bridge} is also the uplink bridge`,
      'the guest bridge and the uplink bridge are two different bridges',
    );
  }
}

/**
 * The anycast gateway and an address for every node, each inside the subnet and its own; a network
 * with a router: its router's address alone (the other nodes only bridge it, seed 004).
 */
function checkAddresses(
  name: string,
  network: NetworkSpec,
  nodeNames: Set<string>,
  owners: AddressOwners,
  report: Report,
): void {
  const base = ['networks', name];
  const { subnet, gateway } = network;
  if (gateway === undefined || network.nodes === undefined) {
    report(
      base,
      `network ${name} is a gateway network (the default mode) without ${gateway === undefined ? '"gateway:", the anycast gateway address' : '"nodes:", each node\'s own address on it'}`,
      'add "gateway:" and "nodes:", or give it a mode in which the nodes only bridge it: mode: bridged or mode: private',
    );
    return;
  }
  if (checkInside(subnet, `network ${name}`, gateway, 'the anycast gateway', [...base, 'gateway'], report)) {
    claim(owners, gateway, `the anycast gateway of network ${name}`, [...base, 'gateway'], report);
  }
  const router = network.router !== undefined && nodeNames.has(network.router) ? network.router : undefined;
  for (const [node, address] of Object.entries(network.nodes)) {
    const path = [...base, 'nodes', node];
    if (!nodeNames.has(node)) {
      report(path, `unknown node "${node}"`, knownList('nodes', nodeNames), true);
      continue;
    }
    if (router !== undefined && node !== router) {
      report(
        path,
        `network ${name} is routed by ${router} alone: node ${node} only bridges it and holds no address on it`,
        `remove "${node}:" from networks.${name}.nodes`,
      );
      continue;
    }
    if (checkInside(subnet, `network ${name}`, address, `node ${node}'s address`, path, report)) {
      claim(owners, address, `node ${node} on network ${name}`, path, report);
    }
  }
  // An unknown router is its own problem (validate/router.ts): no address is asked for then.
  const holders = network.router === undefined ? nodeNames : router === undefined ? [] : [router];
  for (const node of holders) {
    if (!(node in network.nodes)) {
      report(
        [...base, 'nodes'],
        router === undefined
          ? `node ${node} has no address on network ${name}; every node is a gateway of every guest network`
          : `node ${node} has no address on network ${name}, which it routes`,
        `add "${node}: <address in ${formatPrefix(subnet)}>" under networks.${name}.nodes`,
      );
    }
  }
}
