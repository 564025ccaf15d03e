// What `nic up|down` need of a spec: the nodes (names, interface MTUs), the guests with their NICs,
// and the networks they plug into (bridged, private, gateway and routed). A resolved Cluster is one; the hook's cache (cache.ts) stores
// just this projection, as plain JSON (the Cluster holds Maps and much the hooks never read).
import type { BridgedNetwork, Guest, Network, Node, NodeInterface, RoutedNetwork } from '../model.ts';

export interface NicTable {
  readonly nodes: readonly (Pick<Node, 'name' | 'uplinkBridge' | 'uplinkPorts'> & {
    readonly interfaces: readonly Pick<NodeInterface, 'name' | 'mtu'>[];
  })[];
  readonly guests: readonly Pick<Guest, 'name' | 'node' | 'nics'>[];
  readonly bridged: readonly BridgedNetwork[];
  readonly routed: readonly RoutedNetwork[];
  /** transit: an appliance's network (F38), for the lab's transit-spoof fault. */
  readonly networks: readonly (Pick<Network, 'name' | 'bridge' | 'pipes'> & { readonly transit?: boolean })[];
}

/** The hooks' part of a cluster, and nothing else (what the cache writes). */
export function nicTableOf(cluster: NicTable): NicTable {
  return {
    nodes: cluster.nodes.map((n) => ({
      name: n.name,
      uplinkBridge: n.uplinkBridge,
      uplinkPorts: n.uplinkPorts,
      interfaces: n.interfaces.map((i) =>
        i.mtu === undefined ? { name: i.name } : { name: i.name, mtu: i.mtu },
      ),
    })),
    guests: cluster.guests.map((g) => ({ name: g.name, node: g.node, nics: g.nics })),
    bridged: cluster.bridged,
    routed: cluster.routed,
    networks: cluster.networks.map((n) => ({
      name: n.name,
      bridge: n.bridge,
      pipes: n.pipes,
      ...(n.transit ? { transit: true } : {}),
    })),
  };
}

/** The outline of a table read back from a cache file: a file that lacks it is no cache. */
export function looksLikeNicTable(value: unknown): value is NicTable {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  return ['nodes', 'guests', 'bridged', 'routed', 'networks'].every((k) => Array.isArray(t[k]));
}
