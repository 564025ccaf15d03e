// The NIC a hook names (GUEST or GUEST:INDEX), found in the spec, and where it plugs on the node:
// its bridge and the MTU its tap takes, or for a routed network its table, uplink device and tap MAC.
// Everything here is checked before the node is touched.
import type { BridgedNetwork, Guest, Nic, RoutedNetwork } from '../model.ts';
import { NicRefused } from './refused.ts';
import type { NicTable } from './table.ts';

type TableNode = NicTable['nodes'][number];

interface PlugOf {
  readonly guest: Pick<Guest, 'name' | 'node' | 'nics'>;
  readonly nic: Nic;
  /** "vm1:0" */
  readonly ref: string;
}

/** A NIC on a routed network: no bridge; a route and proxy entries to its tap, in the network's table. */
export interface RoutedPlug extends PlugOf {
  readonly kind: 'routed';
  readonly network: RoutedNetwork;
  /** The MTU the spec gives the network or its trunk; undefined: the uplink device's own, read on the node. */
  readonly mtu?: number;
}

export type Plug = BridgedPlug | RoutedPlug;

export interface BridgedPlug extends PlugOf {
  readonly kind: 'bridged';
  readonly bridge: string;
  /** The bridged or private network, when the NIC is on one (gateway networks are the node's own). */
  readonly network?: BridgedNetwork;
  /** The MTU the spec gives the bridge; undefined: the bridge's own, read on the node. */
  readonly mtu?: number;
}

/** Linux's rule for interface names (dev_valid_name): 1-15 bytes, no "/", ":" or white space. */
export function checkTap(tap: string): void {
  if (!/^[^\s/:"]{1,15}$/.test(tap) || tap === '.' || tap === '..')
    throw new NicRefused(
      `${JSON.stringify(tap)} is not an interface name`,
      'pass the tap the hypervisor created (1-15 characters, no "/", ":" or space), e.g. --tap tap5',
    );
}

/**
 * A hook must never take one of the node's own links for a guest's tap: `nic down --tap bond0` would
 * pull the bond out of the uplink bridge and cut the node off. Refused: a name the spec gives the
 * node (NICs, bonds, VLANs, the uplink bridge and its ports, pipes, network bridges and their ports),
 * and a link enslaved to one of the node's own links but a guest bridge (the uplink bridge, a bond).
 */
export function checkNotNodeLink(cluster: NicTable, node: TableNode, tap: string, master?: string): void {
  const guestBridges = new Set([
    ...cluster.networks.map((n) => n.bridge),
    ...cluster.bridged.map((b) => b.bridge),
  ]);
  const own = new Set<string>([
    ...node.interfaces.map((i) => i.name),
    node.uplinkBridge,
    ...node.uplinkPorts,
    ...cluster.networks
      .flatMap((n) => n.pipes.flatMap((p) => p.ends.filter((e) => e.node === node.name)))
      .map((e) => e.ifname),
    ...cluster.bridged.flatMap((b) => (b.uplink ? [b.uplink.device] : [])),
    ...cluster.routed.map((r) => r.uplink.device),
  ]);
  if (own.has(tap) || guestBridges.has(tap))
    throw new NicRefused(
      `${tap} is one of node ${node.name}'s own links in the spec, not a guest's tap`,
      'pass the tap the hypervisor created for the guest, e.g. --tap tap5',
    );
  if (master !== undefined && own.has(master))
    throw new NicRefused(
      `${tap} is a port of ${master}, one of node ${node.name}'s own links: it is not a guest's tap`,
      "pass the tap the hypervisor created for the guest; a guest's tap is in no bridge or in a guest network's bridge",
    );
}

export function findNode(cluster: NicTable, name: string): TableNode {
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node)
    throw new NicRefused(
      `the spec has no node ${name}`,
      `--node is one of ${cluster.nodes.map((n) => n.name).join(', ')} (the hook passes "$(hostname -s)": name the nodes as the hosts are named)`,
    );
  return node;
}

export function findPlug(cluster: NicTable, node: TableNode, ref: string): Plug {
  const [given, indexText] = ref.split(':');
  if (indexText !== undefined && !/^\d+$/.test(indexText))
    throw new NicRefused(
      `NIC index ${JSON.stringify(indexText)} of --nic ${ref} is not a number`,
      `--nic is GUEST or GUEST:INDEX, e.g. --nic ${given}:0 (Ganeti's INTERFACE_INDEX)`,
    );
  const match = /^([^:]+)(?::(\d+))?$/.exec(ref);
  const name = match?.[1] ?? ref;
  const guest = cluster.guests.find((g) => g.name === name);
  if (!match || !guest)
    throw new NicRefused(
      `the spec has no guest ${JSON.stringify(name)}`,
      `--nic is GUEST or GUEST:INDEX with GUEST one of ${cluster.guests.map((g) => g.name).join(', ') || '(none)'}; add the guest to guests: first`,
    );
  const index = Number(match[2] ?? '0');
  const nic = guest.nics[index];
  if (!nic)
    throw new NicRefused(
      `guest ${guest.name} has no NIC ${index} (it has ${guest.nics.length})`,
      `--nic ${guest.name}:0 to ${guest.name}:${guest.nics.length - 1}, or add the NIC to guests.${guest.name}.nics`,
    );
  if (guest.node !== node.name)
    throw new NicRefused(
      `guest ${guest.name} is on node ${guest.node} in the spec, not on ${node.name}`,
      `after moving it, set guests.${guest.name}.node: ${node.name} and apply the spec, or run the hook on ${guest.node}`,
    );
  const found = { guest, nic, ref: `${guest.name}:${index}` };
  const routed = cluster.routed.find((r) => r.name === nic.network);
  if (!routed) return { ...found, ...bridgeOf(cluster, node, nic) };
  const mtu = routed.mtu ?? node.interfaces.find((i) => i.name === routed.uplink.trunk)?.mtu;
  return { ...found, kind: 'routed', network: routed, ...(mtu !== undefined ? { mtu } : {}) };
}

function bridgeOf(
  cluster: NicTable,
  node: TableNode,
  nic: Nic,
): Pick<BridgedPlug, 'kind' | 'bridge' | 'network' | 'mtu'> {
  const network = cluster.bridged.find((b) => b.name === nic.network);
  if (network) {
    const trunk = node.interfaces.find((i) => i.name === network.uplink?.trunk);
    const mtu = network.mtu ?? trunk?.mtu;
    return { kind: 'bridged', bridge: network.bridge, network, ...(mtu !== undefined ? { mtu } : {}) };
  }
  const gateway = cluster.networks.find((n) => n.name === nic.network);
  if (gateway) return { kind: 'bridged', bridge: gateway.bridge };
  // The resolver gives every NIC a known network; reaching this is a bug, not a user's mistake.
  throw new Error(`nic: guest ${nic.guest} NIC ${nic.index} is on unknown network ${nic.network}`);
}
