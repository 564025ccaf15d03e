// The lab's links and addresses, made with `ip -batch` inside the lab's namespaces: veth pairs with
// their peers placed straight into another namespace, the upstream router and workstation, guests
// plugged into their bridges. Nothing touches the root namespace.
import { observerRuleset } from '../../../lab/observe.ts';
import { runChecked } from '../../../lab/run.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { LabInstance } from './build.ts';
import { UPSTREAM, type VethPair, WORKSTATION } from './topology.ts';

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
  const ports = [...upstream.portOf.values()];
  wire.batch(UPSTREAM, [
    `link add ${upstream.bridge} type bridge stp_state 0`,
    ...ports.flatMap((p) => [`link set ${p} master ${upstream.bridge}`, `link set ${p} up`]),
    `link set ${upstream.bridge} up`,
    `address add ${upstream.uplinkCidr} dev ${upstream.bridge}`,
    'link set wan0 up',
    `address add ${upstream.wanCidr} dev wan0`,
  ]);
  wire.sh(UPSTREAM, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  wire.sh(UPSTREAM, ['nft', '-f', '-'], observerRuleset(formatIPv4(workstation.address)));
  wire.batch(WORKSTATION, [
    'link set eth0 up',
    `address add ${workstation.cidr} dev eth0`,
    `route add default via ${workstation.gateway}`,
  ]);
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

export function plugGuests(lab: LabInstance, wire: Wiring): void {
  const byNode = new Map<string, string[]>();
  for (const g of lab.topology.guests) {
    byNode.set(g.guest.node, [
      ...(byNode.get(g.guest.node) ?? []),
      `link set ${g.vif} master ${g.network.bridge}`,
      `link set ${g.vif} up`,
    ]);
    wire.batch(g.guest.name, [
      'link set eth0 up',
      `address add ${g.cidr} dev eth0`,
      `route add default via ${g.gateway}`,
    ]);
  }
  for (const [node, lines] of byNode) wire.batch(node, lines);
}
