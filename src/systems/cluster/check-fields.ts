// The rules of issue 15's check fields: what multicast, broadcast and garp checks send on, and when
// source, mac, size, cut and "blocked" make sense. A check the lab could only run wrongly (a probe
// it could not send, a failover without a bond) is refused here, located, with its fix.
import type { SpecPath } from '../../input/problem.ts';
import { contains } from '../../util/ipv4.ts';
import type { HostRef } from './model.ts';
import type { CheckProto, CheckSpec, ClusterSpec, NetworkSpec } from './schema.ts';
import type { Report } from './validate/common.ts';

/** Checks that send on a network's segment (to a group or the broadcast address): who receives. */
export const SEGMENT_PROTOS: ReadonlySet<CheckProto> = new Set(['multicast', 'broadcast']);

interface SpecNic {
  readonly network?: string;
  readonly address?: number;
  readonly address6?: string;
}

/** A guest's NICs as written: its nics, or the one-NIC form; the only network when none is named. */
export function specNics(spec: ClusterSpec, guest: string): SpecNic[] {
  const g = spec.guests[guest];
  if (!g) return [];
  const only = Object.keys(spec.networks).length === 1 ? Object.keys(spec.networks)[0] : undefined;
  const nics: SpecNic[] = g.nics ?? [{ network: g.network, address: g.address }];
  return nics.map((n) => ({ ...n, network: n.network ?? only }));
}

export const nicOf = (spec: ClusterSpec, ref: HostRef): SpecNic | undefined =>
  ref.kind === 'guest' ? specNics(spec, ref.name)[ref.nic ?? 0] : undefined;

/**
 * A guest NIC on a bridged network with its gateway upstream, or on a routed network without a
 * router node: the workstation reaches it through the upstream router.
 */
export function routedFromUpstream(spec: ClusterSpec, ref: HostRef): boolean {
  const network = nicOf(spec, ref)?.network;
  const n = network === undefined ? undefined : spec.networks[network];
  // A NIC without a known network is reported where it is written, not again by each check.
  if (n === undefined) return true;
  if (n.mode === 'routed') return n.router === undefined;
  return n.mode === 'bridged' && n.gateway !== undefined;
}

/** multicast and broadcast: from a guest with a NIC on the network, or a node; garp: guest to guest. */
export function checkSegment(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  hosts: { from: HostRef; to: HostRef },
  report: Report,
): void {
  const { from, to } = hosts;
  if (check.proto === 'garp') {
    if (from.kind !== 'guest')
      report(
        [...path, 'from'],
        'a garp check runs on a guest (it announces on its own segment)',
        'use a guest',
      );
    if (to.kind !== 'guest')
      report(
        [...path, 'to'],
        'a garp check names the peer whose neighbour table it reads: a guest',
        'name a guest on the same network as "from"',
      );
    if (check.source === undefined)
      report(path, 'a garp check announces the address in "source"', 'add "source:", e.g. another guest');
    return;
  }
  if (to.kind !== 'network') {
    report(
      [...path, 'to'],
      `a ${check.proto} check sends on a network's segment`,
      `name a network: ${Object.keys(spec.networks).join(', ')}`,
    );
    return;
  }
  if (from.kind === 'guest' && !specNics(spec, from.name).some((n) => n.network === to.name))
    report(
      [...path, 'from'],
      `guest ${from.name} has no NIC on network ${to.name}`,
      `send from a guest on ${to.name}, or from a node`,
    );
  const answers = check.expect.answers;
  if (typeof answers === 'string')
    report(
      [...path, 'expect', 'answers'],
      `a ${check.proto} check expects the list of guests that receive it`,
      `write a list: answers: [${answers}]`,
    );
}

/** A check that dials a host: one host, which answers it. */
export function checkHostTarget(check: CheckSpec, path: SpecPath, to: HostRef, report: Report): void {
  if (to.kind === 'network')
    report(
      [...path, 'to'],
      `a ${check.proto} check sends to a host; only multicast and broadcast checks send on a network`,
      'name a guest, a node, the workstation or an address',
    );
  if (typeof check.expect.answers === 'object')
    report(
      [...path, 'expect', 'answers'],
      `a ${check.proto} check has one host that answers; a list is for multicast and broadcast`,
      'name one host',
    );
}

/** source, mac, size, cut and blocked: each with the checks it goes with. */
export function checkFields(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  hosts: { from: HostRef; to: HostRef },
  report: Report,
): void {
  const { proto } = check;
  if (check.source !== undefined && proto !== 'tcp' && proto !== 'udp' && proto !== 'garp')
    report([...path, 'source'], `a ${proto} check cannot send from another address`, 'use tcp, udp or garp');
  if ((check.source !== undefined || check.mac !== undefined) && hosts.from.kind !== 'guest')
    report(
      [...path, check.source !== undefined ? 'source' : 'mac'],
      'only a guest client changes its address or MAC',
      'send from a guest',
    );
  if (check.size !== undefined && proto !== 'ping')
    report([...path, 'size'], `a ${proto} check has no payload size`, 'use proto ping, or remove "size"');
  const e = check.expect;
  const expectsAnswer = e.answers !== undefined || e.sees !== undefined || e.leaves !== undefined;
  if (e.blocked === true && (expectsAnswer || e.via !== undefined))
    report(
      [...path, 'expect', 'blocked'],
      'a blocked check expects nothing to answer, so nothing to see',
      'remove "blocked", or what the check expects of an answer',
    );
  if (check.cut) checkCut(spec, check, path, hosts, report);
}

/** A cut link is a bond's slave on that node; a ping or TCP stream runs across the cut. */
function checkCut(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  hosts: { from: HostRef; to: HostRef },
  report: Report,
): void {
  const cut = check.cut as { node: string; link: string };
  if (check.proto !== 'ping' && check.proto !== 'tcp')
    report([...path, 'proto'], 'a failover check runs a ping or a TCP stream', 'use proto ping or tcp');
  if (hosts.from.kind !== 'guest')
    report([...path, 'from'], 'a failover check runs its stream from a guest', 'send from a guest');
  if (check.expect.blocked === true)
    report([...path, 'expect', 'blocked'], 'traffic must continue across a failover', 'remove "blocked"');
  const node = spec.nodes[cut.node];
  if (!node) {
    report(
      [...path, 'cut', 'node'],
      `unknown node "${cut.node}"`,
      `known nodes: ${Object.keys(spec.nodes).join(', ')}`,
    );
    return;
  }
  const interfaces = { ...spec.interfaces, ...node.interfaces };
  const bonds = Object.entries(interfaces).filter(([, i]) => i.bond);
  if (!bonds.some(([, i]) => i.bond?.slaves.includes(cut.link)))
    report(
      [...path, 'cut', 'link'],
      `${cut.link} is no bond's slave on node ${cut.node}: cutting it tests no failover`,
      bonds.length > 0
        ? `name a slave: ${bonds.flatMap(([, i]) => i.bond?.slaves ?? []).join(', ')}`
        : `give node ${cut.node} a bond`,
    );
}

/** A guest NIC on a routed network. */
export const onRouted = (spec: ClusterSpec, ref: HostRef): boolean =>
  routedOf(spec, ref) !== undefined && ref.kind === 'guest';

/** The routed network a NIC sits on, or a routed network whose subnet holds the address. */
function routedOf(spec: ClusterSpec, ref: HostRef): [string, NetworkSpec] | undefined {
  const routed = Object.entries(spec.networks).filter(([, n]) => n.mode === 'routed');
  if (ref.kind === 'address') return routed.find(([, n]) => contains(n.subnet, ref.address));
  const network = nicOf(spec, ref)?.network;
  return routed.find(([name]) => name === network);
}

/** Does this host have an IPv6 address the lab can dial? Why not, when it has none. */
function ipv6Missing(spec: ClusterSpec, ref: HostRef, peer: HostRef): string | undefined {
  switch (ref.kind) {
    case 'guest': {
      const nic = nicOf(spec, ref);
      const net = nic?.network === undefined ? undefined : spec.networks[nic.network];
      if (nic?.address6 !== undefined || (net?.mode === 'routed' && net.subnet6 !== undefined))
        return undefined;
      return `guest NIC ${formatRef(ref)} has no IPv6 address (no address6, and its network no subnet6)`;
    }
    case 'gateway': {
      const net = routedOf(spec, peer)?.[1];
      return net?.gateway6 === undefined ? "the guest's network has no gateway6" : undefined;
    }
    case 'workstation':
      return Object.values(spec.networks).some(
        (n) => n.mode === 'routed' && n.router === undefined && n.gateway6 !== undefined,
      )
        ? undefined
        : 'the workstation has an IPv6 address only when a routed network has a gateway6 upstream';
    case 'node':
    case 'network':
    case 'address':
      return `the lab dials ${ref.kind === 'address' ? 'IPv4 addresses' : `a ${ref.kind}`} over IPv4 only`;
  }
}

const formatRef = (ref: HostRef) =>
  ref.kind === 'guest' ? `${ref.name}${ref.nic === undefined ? '' : `:${ref.nic}`}` : ref.kind;

/** family, from: gateway and via: the fields of checks on routed networks (issue 16). */
export function checkRoutedFields(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  hosts: { from: HostRef; to: HostRef },
  report: Report,
): void {
  const { proto } = check;
  const { from, to } = hosts;
  const dials = proto === 'ping' || proto === 'tcp' || proto === 'udp';
  if (from.kind === 'gateway') {
    if (!dials && proto !== 'arp')
      report([...path, 'proto'], `a gateway sends ping, tcp, udp or arp, not ${proto}`, 'use proto ping');
    else if (routedOf(spec, to) === undefined)
      report(
        [...path, 'from'],
        '"gateway" sends only toward a guest on a routed network (its upstream router or router node), or an address in its subnet',
        'name such a guest as "to", or send from the workstation',
      );
  }
  if (check.family === 'ipv6') {
    // arp in IPv6 is a neighbour solicitation, on a routed network (whose nodes proxy NDP).
    const ndp = proto === 'arp' && (onRouted(spec, from) || onRouted(spec, to));
    if (!dials && !ndp)
      report(
        [...path, 'family'],
        `family ipv6 is for ping, tcp and udp checks, and arp on a routed network (NDP), not ${proto} here`,
        'remove "family"',
      );
    else
      for (const [end, ref, peer] of [
        ['from', from, to],
        ['to', to, from],
      ] as const) {
        const missing = ipv6Missing(spec, ref, peer);
        if (missing) report([...path, end], missing, 'use family ipv4, or a host with an IPv6 address');
      }
    if (check.expect.leaves !== undefined)
      report(
        [...path, 'expect', 'leaves'],
        'the lab observes IPv4 flows only',
        'remove "leaves", or use ipv4',
      );
  }
  if (check.expect.via !== undefined && !dials && proto !== 'http')
    report(
      [...path, 'expect', 'via'],
      `${proto} checks forward nothing a node counts`,
      'use ping, tcp, udp or http, or remove "via"',
    );
}
