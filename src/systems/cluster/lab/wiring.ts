// The lab's links and addresses, made with `ip -batch` inside the lab's namespaces: veth pairs with
// their peers placed straight into another namespace, the upstream router and workstation, guests
// plugged into their bridges. Nothing touches the root namespace.
import { LabError } from '../../../lab/errors.ts';
import { observerRuleset } from '../../../lab/observe.ts';
import { runChecked } from '../../../lab/run.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { isFault } from '../../faults.ts';
import { execWith, NicFailed, NicRefused, nicUp } from '../nic/index.ts';
import type { LabInstance } from './build.ts';
import { guestNicLines, isRouted, sourceRouteLines } from './guest-nics.ts';
import { UPSTREAM, type VethPair, WORKSTATION } from './topology.ts';
import type { LabSwitch } from './trunks.ts';

/** Batches of `ip` lines per host of one lab being built. */
export interface Wiring {
  /** One `ip -batch` in the host's namespace; the first one there also brings its loopback up. */
  batch(host: string, lines: readonly string[]): void;
  /** A command in the host's namespace. */
  sh(host: string, argv: readonly string[], input?: string): string;
}

/** The wiring of a lab whose namespaces were just made (NamespaceRun.addAll): every loopback still down. */
export function wiring(lab: LabInstance): Wiring {
  const loopbackDown = new Set(lab.topology.hosts.map((h) => lab.ns(h.name)));
  return {
    batch: (host, lines) => {
      const all = loopbackDown.delete(lab.ns(host)) ? ['link set lo up', ...lines] : lines;
      if (all.length === 0) return;
      runChecked(lab.runner, ['ip', '-n', lab.ns(host), '-batch', '-'], { input: `${all.join('\n')}\n` });
    },
    sh: (host, argv, input) =>
      runChecked(lab.runner, ['ip', 'netns', 'exec', lab.ns(host), ...argv], { input }),
  };
}

/** Veth pairs; a VLAN pipe as its parents' pair with real 802.1Q subinterfaces when `vlan`. */
export function createLinks(lab: LabInstance, wire: Wiring, links: readonly VethPair[], vlan: boolean): void {
  const byHost = new Map<string, string[]>();
  const add = (host: string, ...lines: string[]) => byHost.set(host, [...(byHost.get(host) ?? []), ...lines]);
  for (const { a, b, vlan: tag } of links) {
    if (vlan && tag) {
      add(a.host, `link add ${tag.parentA} type veth peer name ${tag.parentB} netns ${lab.ns(b.host)}`);
      continue;
    }
    const mac = a.mac ? ` address ${a.mac}` : '';
    add(a.host, `link add ${a.ifname}${mac} type veth peer name ${b.ifname} netns ${lab.ns(b.host)}`);
  }
  for (const [host, lines] of byHost) wire.batch(host, lines);
  if (!vlan) return;
  // The peers exist now: each end gets its subinterface.
  byHost.clear();
  for (const { a, b, vlan: tag } of links) {
    if (!tag) continue;
    for (const [end, parent] of [
      [a, tag.parentA],
      [b, tag.parentB],
    ] as const)
      add(
        end.host,
        `link add link ${parent} name ${end.ifname} type vlan id ${tag.id}`,
        `link set ${parent} up`,
      );
  }
  for (const [host, lines] of byHost) wire.batch(host, lines);
}

export function setUpUpstream(lab: LabInstance, wire: Wiring): void {
  const { upstream, workstation } = lab.topology;
  wire.batch(UPSTREAM, [
    ...lab.topology.switches.flatMap(switchLines),
    `address add ${upstream.uplinkCidr} dev ${upstream.bridge}`,
    'link set wan0 up',
    `address add ${upstream.wanCidr} dev wan0`,
  ]);
  wire.sh(UPSTREAM, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  wire.sh(UPSTREAM, ['nft', '-f', '-'], observerRuleset(formatIPv4(workstation.address)));
  const v6 = workstation.v6;
  if (v6) {
    wire.sh(UPSTREAM, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    wire.batch(UPSTREAM, [`address add ${v6.wanCidr} dev wan0 nodad`]);
  }
  wire.batch(WORKSTATION, [
    'link set eth0 up',
    `address add ${workstation.cidr} dev eth0`,
    `route add default via ${workstation.gateway}`,
    ...(v6 ? [`address add ${v6.cidr} dev eth0 nodad`, `route add ::/0 via ${v6.gateway}`] : []),
  ]);
}

/** A switch: its bridge, its ports at the switch's MTU, the bridged networks' gateways on it. */
function switchLines(sw: LabSwitch): string[] {
  return [
    `link add ${sw.bridge} type bridge stp_state 0`,
    ...sw.ports.flatMap((p) => [
      `link set ${p.port} mtu ${sw.mtu} master ${sw.bridge}`,
      `link set ${p.port} up`,
    ]),
    `link set ${sw.bridge} up`,
    ...sw.gateways.flatMap((g) => [
      ...(g.vlan === undefined
        ? []
        : [
            `link add link ${sw.bridge} name ${g.device} type vlan id ${g.vlan}`,
            `link set ${g.device} mtu ${g.mtu} up`,
          ]),
      `address add ${g.cidr} dev ${g.device}`,
      ...(g.cidr6 === undefined ? [] : [`address add ${g.cidr6} dev ${g.device} nodad`]),
    ]),
  ];
}

/** How the VLAN pipes are modelled, on this kernel. */
export function vlanNote(lab: LabInstance, real: boolean): string | undefined {
  const pipes = lab.topology.links.filter((l) => l.vlan);
  if (pipes.length === 0) return undefined;
  const names = [...new Set(pipes.flatMap((l) => [l.a.ifname, l.b.ifname]))].sort().join(', ');
  return real
    ? `pipes ${names} are 802.1Q subinterfaces on veth pairs of their parents, tagged as on a direct link`
    : `pipes ${names} are plain veth pairs with the spec's names (untagged), standing in for 802.1Q subinterfaces`;
}

/**
 * Guests' addresses and routes, and their taps plugged into the bridges. With the nodes' rulesets
 * loaded, each tap is plugged by the code of `convergent nic up` (as a hypervisor's hook runs it),
 * so every lab exercises it; without (a benchmark's baseline), by the same ip lines it runs last.
 */
export function plugGuests(lab: LabInstance, wire: Wiring, hook: boolean): string[] {
  const byNode = new Map<string, string[]>();
  const byGuest = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, host: string, lines: string[]) =>
    map.set(host, [...(map.get(host) ?? []), ...lines]);
  const taps: { node: string; ref: string; tap: string; lines: string[] }[] = [];
  for (const g of lab.topology.guests) {
    taps.push({
      node: g.guest.node,
      ref: g.nic.index === 0 ? g.guest.name : `${g.guest.name}:${g.nic.index}`,
      tap: g.vif,
      lines: [`link set ${g.vif} master ${g.network.bridge}`, `link set ${g.vif} up`],
    });
    const address = g.cidr.split('/')[0] as string;
    add(byGuest, g.guest.name, [
      `link set ${g.ifname} up`,
      `address add ${g.cidr} dev ${g.ifname}`,
      ...(g.gateway ? [`route add default via ${g.gateway}`] : []),
      ...(g.sourceGateway ? sourceRouteLines(g, address, g.sourceGateway) : []),
    ]);
  }
  for (const n of lab.topology.nics) {
    taps.push({
      node: n.guest.node,
      ref: `${n.guest.name}:${n.nic.index}`,
      tap: n.vif,
      lines: isRouted(n.network)
        ? [`link set ${n.vif} mtu ${n.mtu} up`]
        : [`link set ${n.vif} mtu ${n.mtu} master ${n.network.bridge}`, `link set ${n.vif} up`],
    });
    add(byGuest, n.guest.name, guestNicLines(n));
    // Before the guest's NIC comes up: the node's router advertisements may come at once.
    if (n.sysctls.length > 0) wire.sh(n.guest.name, ['sysctl', '-q', '-w', ...n.sysctls]);
  }
  const said: string[] = [];
  for (const t of taps) {
    if (hook) said.push(plugByHook(lab, t.node, t.ref, t.tap));
    else add(byNode, t.node, t.lines);
  }
  for (const [node, lines] of byNode) wire.batch(node, lines);
  for (const [guest, lines] of byGuest) wire.batch(guest, lines);
  return said;
}

/** `nic up` in the node's namespace: its line, or a LabError with what it refused and the fix. */
function plugByHook(lab: LabInstance, node: string, ref: string, tap: string): string {
  const exec = execWith(lab.runner, (argv) => ['ip', 'netns', 'exec', lab.ns(node), ...argv]);
  try {
    return nicUp(exec, lab.cluster, node, ref, tap, { faults: lab.state.faults.filter(isFault) }).line;
  } catch (err) {
    if (err instanceof NicRefused)
      throw new LabError(`node ${node}: nic up ${ref} --tap ${tap} refused: ${err.message}; fix: ${err.fix}`);
    if (err instanceof NicFailed)
      throw new LabError(`node ${node}: nic up ${ref} --tap ${tap}: ${err.message}`);
    throw err;
  }
}
