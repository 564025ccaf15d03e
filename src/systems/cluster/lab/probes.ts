// Checks -> probes. A check names hosts (workstation, node2, guest1); a probe is what the lab runs:
// which client, which address and port it dials, which server must be listening, and the concrete
// expectations (who answers, the source address the server must see, where the reply comes from).
// A spec without "checks:" gets checks derived from its forwards and guests.

import { LabError } from '../../../lab/errors.ts';
import { formatIPv4, parseIPv4 } from '../../../util/ipv4.ts';
import { SEGMENT_PROTOS } from '../check-fields.ts';
import { formatHostRef } from '../checks.ts';
import { FEATURES } from '../features/index.ts';
import type { Check, Cluster, Guest, HostRef, Network, Node, Router } from '../model.ts';
import { answersByAddress, type ClientFields, clientFields, nicOf, segmentAddress } from './probe-fields.ts';
import { type RoutedProbe, routedDial, routedProbe, routedSees } from './routed.ts';
import { addressOn, type Topology, WORKSTATION } from './topology.ts';

/** The port every guest and the workstation serve for outbound and guest-to-guest checks. */
export const LAB_PORT = 9000;

export type ServerKind = 'http' | 'tcp' | 'udp';

export interface Probe {
  readonly check: Check;
  /** The host running the client: the workstation or a guest. */
  readonly client: string;
  /** What the client dials (or, for arp, asks for): the IPv4 address (0 for an IPv6 check). */
  readonly address: number;
  /** The same as text, in the check's family: "192.0.2.1", "2001:db8::1". */
  readonly dial: string;
  readonly port?: number;
  readonly expect: {
    /** Host name that must answer (for arp: the node whose MAC answers). */
    readonly answers?: string;
    readonly answersMac?: string;
    /** The source address the server must see, as text. */
    readonly sees?: string;
    /** Where the reply must come from: what was dialled, "address:port" (ping: the address). */
    readonly replyFrom?: string;
    readonly leaves?: string;
    /** The only node that may forward the check's packets. */
    readonly via?: string;
    /** The appliance the flow passes both ways, or "none". */
    readonly through?: string;
    /** ping: the echo reply's TTL at the client. */
    readonly ttl?: number;
  };
  /** The server this check needs: where and what it listens on. */
  readonly server?: { readonly host: string; readonly kind: ServerKind; readonly port: number };
  /** The node the client's traffic first reaches: the one dialled, or the client guest's own. */
  readonly entering?: string;
  /** What issue 15's fields ask of the client (its NIC, MAC, a spoofed source, a size, a cut). */
  readonly client15: ClientFields;
  /** A check on a routed network: its gateway, the guest's tap, what an ARP question asks with. */
  readonly routed?: RoutedProbe;
}

const ws: HostRef = { kind: 'workstation' };
const node = (name: string): HostRef => ({ kind: 'node', name });
const guest = (name: string): HostRef => ({ kind: 'guest', name });

/** Ports a guest serves as HTTP when a derived check reaches them. */
const HTTP_PORTS = new Set([80, 8000, 8080]);

/**
 * Derived checks: every forward through every node it is on (F7-F13); per guest, outbound TCP and
 * ping to the workstation (F4), ARP for its gateway (F3), and TCP to a guest on another node (F1).
 */
export function defaultChecks(cluster: Cluster): Check[] {
  const checks: Check[] = [];
  const guests = new Map(cluster.guests.map((g) => [g.name, g]));
  for (const f of cluster.forwards) {
    const target = guests.get(f.guest) as Guest;
    const proto = f.proto === 'udp' ? 'udp' : HTTP_PORTS.has(f.toPort) ? 'http' : 'tcp';
    const router = routerOf(cluster, target);
    for (const via of f.nodes) {
      // Stateless and ctsync keep the client's address and answer through the guest's node;
      // full-NAT shows the entering node's address and answers through it. A routered network's
      // router is its guests' gateway: plain DNAT, the replies return through it.
      const clientKept = f.strategy !== 'fullnat' || router !== undefined;
      checks.push({
        name: `${proto}/${f.port} via ${via} -> ${f.guest}`,
        from: ws,
        to: node(via),
        proto,
        port: f.port,
        expect: {
          answers: guest(f.guest),
          sees: clientKept ? ws : node(via),
          leaves: router?.node ?? (clientKept ? target.node : via),
        },
        path: f.path,
      });
    }
  }
  for (const feature of FEATURES) checks.push(...(feature.derivedChecks?.(cluster) ?? []));
  const anycast = new Set(cluster.networks.map((n) => n.name));
  for (const g of cluster.guests.filter((x) => anycast.has(x.network))) {
    const router = routerOf(cluster, g);
    // A routered network leaves as the NIC's floating IP or the router's SNAT address, by the router.
    const out = router ? outboundOf(cluster, g, router) : undefined;
    checks.push({
      name: `tcp/${LAB_PORT} ${g.name} -> workstation`,
      from: guest(g.name),
      to: ws,
      proto: 'tcp',
      port: LAB_PORT,
      expect: { answers: ws, sees: out ?? node(g.node), leaves: router?.node ?? g.node },
      path: g.path,
    });
    checks.push({
      name: `ping ${g.name} -> workstation`,
      from: guest(g.name),
      to: ws,
      proto: 'ping',
      expect: {},
      path: g.path,
    });
    checks.push({
      name: `arp ${g.name} -> gateway`,
      from: guest(g.name),
      to: { kind: 'gateway' },
      proto: 'arp',
      expect: { answers: node(router?.node ?? g.node) },
      path: g.path,
    });
  }
  for (const [g, peer] of crossNodePairs(cluster)) {
    checks.push({
      name: `tcp/${LAB_PORT} ${g.name} -> ${peer.name}`,
      from: guest(g.name),
      to: guest(peer.name),
      proto: 'tcp',
      port: LAB_PORT,
      expect: { answers: guest(peer.name), sees: guest(g.name) },
      path: g.path,
    });
  }
  return checks;
}

/** The router of the guest's network (NIC 0's), when it names one. */
const routerOf = (cluster: Cluster, g: Guest): Router | undefined =>
  cluster.networks.find((n) => n.name === g.network)?.router;

/** The source a routered guest leaves as: its floating IP, the router's SNAT address, else the router node. */
function outboundOf(cluster: Cluster, g: Guest, router: Router): HostRef {
  const floating = g.nics[0]?.floating;
  if (floating !== undefined) return { kind: 'address', address: floating };
  const own = cluster.nodes.find((n) => n.name === router.node)?.address === router.snat;
  return own ? node(router.node) : { kind: 'address', address: router.snat };
}

/** Each guest with the next guest of its network that lives on another node: n checks, not n². */
function crossNodePairs(cluster: Cluster): [Guest, Guest][] {
  const pairs: [Guest, Guest][] = [];
  for (const network of cluster.networks) {
    const members = cluster.guests.filter((g) => g.network === network.name);
    members.forEach((g, i) => {
      for (let k = 1; k < members.length; k++) {
        const peer = members[(i + k) % members.length] as Guest;
        if (peer.node !== g.node) {
          pairs.push([g, peer]);
          return;
        }
      }
    });
  }
  return pairs;
}

/** The address a check's client sends to: the gateway, a node's address on its segment or the uplink, a host's. */
function dialled(cluster: Cluster, topology: Topology, check: Check, fromGuest: Guest | undefined): number {
  const to = check.to;
  const networkOf = (g: Guest) => cluster.networks.find((n) => n.name === g.network) as Network;
  if (SEGMENT_PROTOS.has(check.proto) || check.proto === 'vrrp') return segmentAddress(check.proto);
  if (to.kind === 'gateway') return networkOf(fromGuest as Guest).gateway;
  const anycast = fromGuest && cluster.networks.some((n) => n.name === fromGuest.network);
  // A node that only bridges a router's network (seed 004) has no address there: its public one.
  const own = to.kind === 'node' && anycast ? networkOf(fromGuest).nodeAddresses.get(to.name) : undefined;
  if (own !== undefined) return own;
  if (to.kind === 'node') return (cluster.nodes.find((n) => n.name === to.name) as Node).address;
  return addressOn(cluster, topology, to, { role: 'workstation' }) as number;
}

/** Who answers, and on which port it listens: through a forward, or the host dialled. */
function serverOf(
  cluster: Cluster,
  check: Check,
  fromGuest: Guest | undefined,
  routed: RoutedProbe | undefined,
): { server?: Probe['server']; answers?: HostRef } {
  const to = check.to;
  const answers = check.expect.answers;
  const port = check.port;
  if (port === undefined || (check.proto !== 'http' && check.proto !== 'tcp' && check.proto !== 'udp'))
    return { answers };
  const kind: ServerKind = check.proto;
  if (to.kind === 'node' && !fromGuest) {
    const f = cluster.forwards.find(
      (fw) => fw.proto === (kind === 'udp' ? 'udp' : 'tcp') && fw.port === port && fw.nodes.includes(to.name),
    );
    const x =
      kind === 'udp'
        ? undefined
        : cluster.proxies.find((px) => px.port === port && px.nodes.includes(to.name));
    if (f) return { answers: answers ?? guest(f.guest), server: { host: f.guest, kind, port: f.toPort } };
    // The proxy speaks HTTP to the guest, whatever the client speaks to the proxy.
    if (x)
      return { answers: answers ?? guest(x.guest), server: { host: x.guest, kind: 'http', port: x.toPort } };
    return { answers };
  }
  // A routed network's gateway is a router the lab runs: it serves the port.
  if (to.kind === 'gateway' && routed) return { answers, server: { host: routed.gatewayHost, kind, port } };
  // An address that leads to a guest (its floating IP): the guest serves the port itself (1:1 NAT).
  if (to.kind === 'address' && answers?.kind === 'guest')
    return { answers, server: { host: answers.name, kind, port } };
  if (to.kind === 'guest' || to.kind === 'workstation')
    return {
      answers: answers ?? (to.kind === 'guest' ? guest(to.name) : to),
      server: { host: to.kind === 'guest' ? to.name : formatHostRef(to), kind, port },
    };
  return { answers };
}

/** The source address the server must see, as text: the host's address on the server's segment. */
function seesOf(
  cluster: Cluster,
  topology: Topology,
  check: Check,
  answers: HostRef | undefined,
  routed: RoutedProbe | undefined,
): string | undefined {
  const seen = check.expect.sees;
  if (!seen) return undefined;
  const serverHost =
    answers?.kind === 'guest' ? cluster.guests.find((g) => g.name === answers.name) : undefined;
  const serverNet = serverHost && cluster.networks.find((n) => n.name === serverHost.network);
  const segment = serverNet
    ? ({ role: 'guest', network: serverNet } as const)
    : ({ role: 'workstation' } as const);
  const at = addressOn(cluster, topology, seen, segment);
  return (
    routedSees(cluster, topology, check, seen, routed) ?? (at === undefined ? undefined : formatIPv4(at))
  );
}

/** arp: the MAC that must answer alone (a routed network's tap toward a guest; from its gateway, read when it runs). */
function answersMacOf(
  cluster: Cluster,
  check: Check,
  answers: HostRef | undefined,
  routed: RoutedProbe | undefined,
): string | undefined {
  if (check.proto !== 'arp') return undefined;
  if (routed) return check.from.kind === 'guest' ? routed.network.tapMac : undefined;
  if (answers?.kind === 'node') return cluster.nodes.find((n) => n.name === answers.name)?.bridgeMac;
  return answers?.kind === 'guest' && check.to.kind === 'guest' ? nicOf(cluster, check.to)?.mac : undefined;
}

/**
 * An ARP question on a routed network reads neighbour tables after it, a check of the forwarding
 * node counts every node's forwarding, and traffic toward a routed guest from outside makes its node
 * ask the guest for its address (writing the gateway into the guest's table, as its own ARP would):
 * each runs alone, after the guests' own checks.
 */
const runsAlone = (check: Check, routed: RoutedProbe | undefined) =>
  (check.proto === 'arp' && routed !== undefined) ||
  check.expect.via !== undefined ||
  (routed?.guest !== undefined && check.from.kind !== 'guest');

export function probesOf(cluster: Cluster, topology: Topology, checks: readonly Check[]): Probe[] {
  const guests = new Map(cluster.guests.map((g) => [g.name, g]));
  return checks.map((check): Probe => {
    const fromGuest = check.from.kind === 'guest' ? (guests.get(check.from.name) as Guest) : undefined;
    const routed = routedProbe(cluster, topology, check);
    const client =
      fromGuest?.name ??
      (check.from.kind === 'node' ? check.from.name : undefined) ??
      (check.from.kind === 'gateway' && routed ? routed.gatewayHost : WORKSTATION);
    const to = check.to;
    const routedText = routedDial(cluster, topology, check, routed);
    const address =
      check.family === 6
        ? 0
        : routedText !== undefined
          ? (parseIPv4(routedText) as number)
          : dialled(cluster, topology, check, fromGuest);
    const dial = routedText ?? formatIPv4(address);
    const entering = to.kind === 'node' && !fromGuest ? to.name : fromGuest?.node;

    const port = check.port;
    const found = serverOf(cluster, check, fromGuest, routed);
    const server = found.server;
    let answers = found.answers;
    if (check.proto === 'arp' && answers === undefined && to.kind === 'gateway' && fromGuest)
      answers = node(fromGuest.node);
    // On a routed network a guest's neighbours all answer with its tap: its host node does.
    const routedHost = routed?.guest && node(routed.guest.guest.node);
    if (check.proto === 'arp' && answers === undefined && to.kind === 'guest' && !check.expect.blocked)
      answers = routedHost ?? guest(to.name);

    const sees = seesOf(cluster, topology, check, answers, routed);
    const fields = clientFields(cluster, topology, check, address);
    const routedArp = check.proto === 'arp' && routed !== undefined;
    return {
      check,
      client,
      address,
      dial,
      port,
      expect: {
        answers:
          server?.host === routed?.gatewayHost && routed
            ? routed.gatewayHost
            : answers && formatHostRef(answers),
        answersMac: answersMacOf(cluster, check, answers, routed),
        sees,
        replyFrom:
          check.proto === 'arp' || !answersByAddress(check)
            ? undefined
            : check.proto === 'ping'
              ? dial
              : `${dial}:${port}`,
        leaves: check.expect.leaves,
        via: check.expect.via,
        through: check.expect.through,
        ttl: check.expect.ttl,
      },
      server,
      entering,
      client15: { ...fields, alone: fields.alone || runsAlone(check, routed) },
      routed: routed && {
        ...routed,
        answersNode:
          routedArp && check.from.kind === 'gateway'
            ? answers?.kind === 'node'
              ? answers.name
              : undefined
            : undefined,
      },
    };
  });
}

export interface ServerPorts {
  readonly http: number[];
  readonly tcp: number[];
  readonly udp: number[];
}

/** What each host must serve for these probes. Refuses one TCP port serving both HTTP and a banner. */
export function serversOf(probes: readonly Probe[]): Map<string, ServerPorts> {
  const byHost = new Map<string, ServerPorts>();
  const tcpKind = new Map<string, ServerKind>();
  for (const p of probes) {
    if (!p.server) continue;
    const { host, kind, port } = p.server;
    let ports = byHost.get(host);
    if (!ports) {
      ports = { http: [], tcp: [], udp: [] };
      byHost.set(host, ports);
    }
    if (kind !== 'udp') {
      const key = `${host} ${port}`;
      const other = tcpKind.get(key);
      if (other && other !== kind)
        throw new LabError(
          `check "${p.check.name}" needs a ${kind} server on ${host} tcp/${port}, where another check needs ${other}; use one protocol per port`,
        );
      tcpKind.set(key, kind);
    }
    if (!ports[kind].includes(port)) ports[kind].push(port);
  }
  return byHost;
}
