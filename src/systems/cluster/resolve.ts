// Spec (as written, addresses parsed by the schema) -> Cluster (as meant). Assumes validate() found
// no problems: every name it looks up exists.
import { resolveMarks } from '../marks/model.ts';
import { resolveChecks } from './checks.ts';
import type { Cluster, Forward, HttpProxy, Network, Node, Pipe, PipeEnd, Router, Sync } from './model.ts';
import { resolveBridged, resolveGuests, resolveInterfaces } from './resolve-hosts.ts';
import { resolveRouted } from './resolve-routed.ts';
import { resolveFloating, resolveRouters } from './resolve-router.ts';
import { type ClusterSpec, SYNC_DEFAULTS } from './schema.ts';
import { allocateTags, bridgeMac } from './tags.ts';

export function resolve(spec: ClusterSpec): Cluster {
  const nodes = resolveNodes(spec);
  const routed = resolveRouted(spec);
  const routers = resolveRouters(spec, new Set(routed.map((r) => r.table.id)));
  const networks = Object.entries(spec.networks)
    .filter(([, net]) => net.mode === 'gateway')
    .map(([name, net]) => resolveNetwork(name, net, routers.get(name)));
  const onlyNetwork = onlyNetworkOf(spec);
  const guests = resolveGuests(spec, onlyNetwork);
  const allNodes = nodes.map((n) => n.name);
  const forwards: Forward[] = spec.forwards.map((f, index) => ({
    index,
    proto: f.proto,
    port: f.port,
    guest: f.to,
    toPort: f.toPort ?? f.port,
    nodes: f.nodes ?? allNodes,
    everyNode: f.nodes === undefined,
    strategy: f.strategy ?? spec.strategy,
    path: ['forwards', index],
  }));
  const proxies: HttpProxy[] = spec.proxies.map((x, index) => ({
    index,
    port: x.port,
    guest: x.to,
    toPort: x.toPort ?? x.port,
    nodes: x.nodes ?? allNodes,
    path: ['proxies', index],
  }));
  return {
    name: spec.name,
    strategy: spec.strategy,
    tagMacPrefix: spec.tagMacPrefix,
    uplink: { subnet: spec.uplink.subnet, gateway: spec.uplink.gateway },
    nodes,
    networks,
    bridged: resolveBridged(spec),
    routed,
    guests,
    floating: resolveFloating(guests, networks),
    forwards,
    proxies,
    sync: forwards.some((f) => f.strategy === 'ctsync') ? resolveSync(spec, nodes, onlyNetwork) : undefined,
    marks: resolveMarks(spec.marks),
    checks: resolveChecks(spec),
  };
}

/** The nodes in spec order, with their tags (allocated where the spec has none). */
function resolveNodes(spec: ClusterSpec): Node[] {
  const nodeEntries = Object.entries(spec.nodes);
  const tags = allocateTags(nodeEntries.map(([name, n]) => ({ name, tag: n.tag })));
  return nodeEntries.map(([name, n]) => {
    const tag = tags.get(name) as number;
    return {
      name,
      address: n.address,
      tag,
      tagAllocated: n.tag === undefined,
      uplinkBridge: n.uplink?.bridge ?? spec.uplink.bridge,
      uplinkPorts: n.uplink?.ports ?? spec.uplink.ports,
      bridgeMac: bridgeMac(spec.tagMacPrefix, tag),
      interfaces: resolveInterfaces(spec, name),
      path: ['nodes', name],
    };
  });
}

function onlyNetworkOf(spec: ClusterSpec): string | undefined {
  const names = Object.keys(spec.networks);
  return names.length === 1 ? names[0] : undefined;
}

function resolveNetwork(
  name: string,
  net: ClusterSpec['networks'][string],
  router: Router | undefined,
): Network {
  return {
    name,
    bridge: net.bridge ?? 'guestbr0',
    subnet: net.subnet,
    gateway: net.gateway as number,
    nodeAddresses: new Map(Object.entries(net.nodes ?? {})),
    pipes: net.pipes.map((p, i): Pipe => {
      const ends = Object.entries(p).map(([node, ifname]): PipeEnd => ({ node, ifname }));
      return { ends: [ends[0] as PipeEnd, ends[1] as PipeEnd], path: ['networks', name, 'pipes', i] };
    }),
    stp: net.stp,
    forwardDelay: net.forwardDelay,
    router,
    transit: net.transit,
    path: ['networks', name],
  };
}

/** conntrackd's sync: the spec's, else the schema's defaults; FTFW for two nodes, NOTRACK for more. */
function resolveSync(spec: ClusterSpec, nodes: readonly Node[], onlyNetwork: string | undefined): Sync {
  const sync = spec.sync ?? SYNC_DEFAULTS;
  return {
    network: (sync.network ?? onlyNetwork) as string,
    group: sync.group,
    port: sync.port,
    mode: sync.mode ?? (nodes.length === 2 ? 'ftfw' : 'notrack'),
    path: ['sync'],
  };
}
