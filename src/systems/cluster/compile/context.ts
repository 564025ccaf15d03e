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
  /** Forwards that name their nodes ("nodes:" in the spec), by node; the strategies' only. */
  readonly ownForwards: ReadonlyMap<string, readonly Forward[]>;
  /**
   * The forwards the strategies handle: all but those to a guest on a network with a router (seed
   * 004), which its router DNATs plainly (features/router): it is the guests' gateway, replies
   * return through it, so no strategy's SNAT, tags or sync apply.
   */
  readonly strategyForwards: readonly Forward[];
  /** Forwards to guests behind a router node, by that node. */
  readonly routerForwards: ReadonlyMap<string, readonly Forward[]>;
  /** The anycast gateway networks: every node their gateway (the networks without a router). */
  readonly anycast: readonly Network[];
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
  const routerOf = new Map(cluster.networks.map((n) => [n.name, n.router?.node]));
  const behindRouter = (f: Forward) => routerOf.get(guestByName.get(f.guest)?.network ?? '') !== undefined;
  const strategyForwards = cluster.forwards.filter((f) => !behindRouter(f));
  const routerForwards = new Map<string, Forward[]>();
  for (const f of cluster.forwards.filter(behindRouter)) {
    const router = routerOf.get(guestByName.get(f.guest)?.network ?? '') as string;
    routerForwards.set(router, [...(routerForwards.get(router) ?? []), f]);
  }
  const anycast = cluster.networks.filter((n) => n.router === undefined);
  const ownForwards = new Map<string, Forward[]>();
  for (const f of strategyForwards) {
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
    strategyForwards,
    routerForwards,
    anycast,
    uses: {
      stateless: strategyForwards.some((f) => f.strategy === 'stateless'),
      fullnat: strategyForwards.some((f) => f.strategy === 'fullnat'),
      ctsync: cluster.sync !== undefined && strategyForwards.some((f) => f.strategy === 'ctsync'),
      pipes: cluster.networks.some((n) => n.pipes.length > 0),
    },
    elements: {
      nodeTags: cluster.nodes.map((n) => ({ key: [tagMark(n)], comment: nodeSource(n) })),
      nodePublic: cluster.nodes.map((n) => ({
        key: [tagMark(n)],
        value: [v4(formatIPv4(n.address))],
        comment: nodeSource(n),
      })),
      // A router's networks are its own to NAT and to answer ARP for (features/router).
      guestSubnets: anycast.map((n) => ({
        key: [v4(formatPrefix(n.subnet))],
        comment: `networks.${n.name}.subnet`,
      })),
      guestBridges: anycast.map((n) => ({
        key: [ifname(n.bridge)],
        comment: `networks.${n.name}.bridge`,
      })),
      anycastGateways: anycast.map((n) => ({
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
    shared = ctx.strategyForwards
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
  return ctx.strategyForwards.flatMap((forward) => {
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
