// Lookups and set contents shared by every node's compile. Built once per cluster, so compiling
// 200 nodes does not rebuild 20,000-element maps 200 times: nodes share the same element arrays.

import { type Element, ifname, mark, proto, service, v4 } from '../../../nft/tree.ts';
import { formatIPv4, formatPrefix } from '../../../util/ipv4.ts';
import type { Fault } from '../../faults.ts';
import { spread } from '../../marks/bits.ts';
import type { Cluster, Forward, Guest, Network, Node } from '../model.ts';

export interface ClusterContext {
  readonly cluster: Cluster;
  readonly tagMacPrefix: string;
  readonly guestByName: ReadonlyMap<string, Guest>;
  readonly guestsByNode: ReadonlyMap<string, readonly Guest[]>;
  /** Pipe interfaces of each node, with the network they join. */
  readonly pipesByNode: ReadonlyMap<string, readonly { ifname: string; network: Network }[]>;
  /** Forwards that name their nodes ("nodes:" in the spec), by node. */
  readonly ownForwards: ReadonlyMap<string, readonly Forward[]>;
  readonly uses: {
    readonly stateless: boolean;
    readonly fullnat: boolean;
    readonly ctsync: boolean;
    readonly pipes: boolean;
  };
  readonly elements: SharedElements;
  /** Deliberate mistakes asked for (lab demonstrations only). */
  readonly faults: ReadonlySet<Fault>;
}

/** Set and map contents that are the same on every node. */
export interface SharedElements {
  readonly nodeTags: readonly Element[];
  readonly nodePublic: readonly Element[];
  readonly guestSubnets: readonly Element[];
  readonly guestBridges: readonly Element[];
  readonly anycastGateways: readonly Element[];
}

export function clusterContext(cluster: Cluster, faults: ReadonlySet<Fault> = new Set()): ClusterContext {
  const { tagMacPrefix } = cluster;
  const guestByName = new Map(cluster.guests.map((g) => [g.name, g]));
  const guestsByNode = new Map<string, Guest[]>(cluster.nodes.map((n) => [n.name, []]));
  for (const g of cluster.guests) guestsByNode.get(g.node)?.push(g);
  const pipesByNode = new Map<string, { ifname: string; network: Network }[]>(
    cluster.nodes.map((n) => [n.name, []]),
  );
  for (const network of cluster.networks) {
    for (const pipe of network.pipes)
      for (const end of pipe.ends) pipesByNode.get(end.node)?.push({ ifname: end.ifname, network });
  }
  const ownForwards = new Map<string, Forward[]>();
  for (const f of cluster.forwards) {
    if (f.everyNode) continue;
    for (const n of f.nodes) ownForwards.set(n, [...(ownForwards.get(n) ?? []), f]);
  }
  const nodeSource = (n: Node) => `nodes.${n.name}`;
  // A node's tag as the marks carry it: spread into marks.mask.
  const tagMark = (n: Node) => mark(spread(n.tag, cluster.marks.mask));
  return {
    cluster,
    faults,
    tagMacPrefix,
    guestByName,
    guestsByNode,
    pipesByNode,
    ownForwards,
    uses: {
      stateless: cluster.forwards.some((f) => f.strategy === 'stateless'),
      fullnat: cluster.forwards.some((f) => f.strategy === 'fullnat'),
      ctsync: cluster.sync !== undefined,
      pipes: cluster.networks.some((n) => n.pipes.length > 0),
    },
    elements: {
      nodeTags: cluster.nodes.map((n) => ({ key: [tagMark(n)], comment: nodeSource(n) })),
      nodePublic: cluster.nodes.map((n) => ({
        key: [tagMark(n)],
        value: [v4(formatIPv4(n.address))],
        comment: nodeSource(n),
      })),
      guestSubnets: cluster.networks.map((n) => ({
        key: [v4(formatPrefix(n.subnet))],
        comment: `networks.${n.name}.subnet`,
      })),
      guestBridges: cluster.networks.map((n) => ({
        key: [ifname(n.bridge)],
        comment: `networks.${n.name}.bridge`,
      })),
      anycastGateways: cluster.networks.map((n) => ({
        key: [v4(formatIPv4(n.gateway))],
        comment: `networks.${n.name}.gateway`,
      })),
    },
  };
}

/** Element arrays shared between nodes, by name; one cache per cluster compile. */
export type ElementCache = Map<string, readonly Element[]>;

/**
 * The forwards that a node's public address carries, for one strategy: "proto . port" keys.
 * Forwards on every node share one element array across nodes (cached per strategy and shape).
 */
export function forwardsOn(
  ctx: ClusterContext,
  node: Node,
  strategy: Forward['strategy'],
  toElement: (f: Forward, guest: Guest) => Element | undefined,
  cache: ElementCache,
  cacheKey: string,
): readonly Element[] {
  let shared = cache.get(cacheKey);
  if (!shared) {
    shared = ctx.cluster.forwards
      .filter((f) => f.everyNode && f.strategy === strategy)
      .flatMap((f) => toElement(f, ctx.guestByName.get(f.guest) as Guest) ?? []);
    cache.set(cacheKey, shared);
  }
  const own = (ctx.ownForwards.get(node.name) ?? []).filter((f) => f.strategy === strategy);
  if (own.length === 0) return shared;
  return [...shared, ...own.flatMap((f) => toElement(f, ctx.guestByName.get(f.guest) as Guest) ?? [])];
}

export const forwardSource = (f: Forward): string =>
  `forwards[${f.index}] ${f.proto}/${f.port} -> ${f.guest}:${f.toPort}`;

/**
 * A forward as a set or map element: "proto . public port", leading (with `to`) to its guest's
 * address, or to the address and the guest port.
 */
export function forwardElement(
  f: Forward,
  guest?: Guest,
  to: 'address' | 'address . port' = 'address',
): Element {
  const key = [proto(f.proto), service(f.port)];
  const comment = forwardSource(f);
  if (!guest) return { key, comment };
  const address = v4(formatIPv4(guest.address));
  return { key, value: to === 'address' ? [address] : [address, service(f.toPort)], comment };
}

/**
 * The forwards of `strategy` that `keep` accepts, one per target (guest address . proto . guest
 * port), as set elements: the first forward to a target names it.
 */
export function distinctTargets(
  ctx: ClusterContext,
  strategy: Forward['strategy'],
  keep: (f: Forward) => boolean = () => true,
): { readonly forward: Forward; readonly guest: Guest; readonly element: Element }[] {
  const seen = new Set<string>();
  return ctx.cluster.forwards.flatMap((forward) => {
    if (forward.strategy !== strategy || !keep(forward)) return [];
    const guest = ctx.guestByName.get(forward.guest) as Guest;
    const key = `${guest.address} ${forward.proto} ${forward.toPort}`;
    if (seen.has(key)) return [];
    seen.add(key);
    const address = v4(formatIPv4(guest.address));
    const element = {
      key: [address, proto(forward.proto), service(forward.toPort)],
      comment: forwardSource(forward),
    };
    return [{ forward, guest, element }];
  });
}
