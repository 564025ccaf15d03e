// The lab of bench/routed.bench.ts, one per guest count: the node's namespace with its trunk eth1 (a
// veth to the upstream router's namespace, which holds the network's gateway addresses and routes to
// an internet client's namespace behind it) and the node's files rendered by convergent and loaded as
// an operator loads them (sh network.sh, sysctl -p, nft -f). The server guest is a namespace of its
// own behind a veth whose node end is its tap; every other guest's tap is a real tap device
// (`ip tuntap add ... mode tap`, what a hypervisor creates) that no process holds open: admin-up once
// plugged, without carrier, which routes and nft keyed by its name do not mind.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FILES } from '../src/host/files.ts';
import { writeFiles } from '../src/lab/files.ts';
import type { NamespaceRun } from '../src/lab/netns.ts';
import { compiler } from '../src/systems/cluster/compile/index.ts';
import type { Cluster, Node } from '../src/systems/cluster/model.ts';
import { renderNode } from '../src/systems/cluster/render.ts';
import { inNs, type PortsLab, tapOf } from './ports-lab.ts';
import {
  CLIENT_NET,
  GATEWAY,
  GATEWAY6,
  NODE,
  PREFIX_LENGTH,
  PROBE,
  SERVER_GUEST,
  TRUNK,
} from './routed-spec.ts';

export const UPSTREAM = 'upstream';
export const CLIENT = 'client';
/** The upstream router's end of the trunk. */
const UPSTREAM_TRUNK = 'trunk';

/** A lab as the ports bench's helpers take it (nicUpTimes, cliTimes), and the node's rendered files. */
export interface RoutedLab extends PortsLab {
  readonly dir: string;
  /** The node's rule count from its rendered ruleset. */
  readonly rules: number;
}

const ip = (ns: string, lines: readonly string[]) => inNs(ns, ['ip', '-batch', '-'], `${lines.join('\n')}\n`);

/** Namespaces, links, the upstream's addresses and routes, the node's files loaded; p's tap created. */
export function buildRoutedLab(run: NamespaceRun, label: string, cluster: Cluster): RoutedLab {
  const lab = wireRoutedLab(run, label);
  const plan = compiler(cluster).compileNode(cluster.nodes.find((n) => n.name === NODE) as Node);
  writeFiles(lab.dir, renderNode(plan));
  inNs(lab.node, ['sh', join(lab.dir, FILES.networkScript)]);
  inNs(lab.node, ['sysctl', '-q', '-p', join(lab.dir, FILES.sysctl)]);
  inNs(lab.node, ['nft', '-f', join(lab.dir, FILES.nftables)]);
  const rules = plan.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  return { ...lab, rules };
}

/** The namespaces and their links and addresses, the node still bare. */
export function wireRoutedLab(run: NamespaceRun, label: string): RoutedLab {
  const ns = (host: string) => run.ns(`${label}-${host}`);
  for (const host of ['node', UPSTREAM, CLIENT, SERVER_GUEST.name]) run.add(`${label}-${host}`);
  const node = ns('node');
  ip(node, [
    // The uplink bridge's port: only needs to exist (the node's address is on the bridge).
    'link add eth0 type veth peer name eth0-peer',
    'link set eth0-peer up',
    `link add ${TRUNK} type veth peer name ${UPSTREAM_TRUNK} netns ${ns(UPSTREAM)}`,
    `link add ${tapOf(SERVER_GUEST.name)} type veth peer name eth0 netns ${ns(SERVER_GUEST.name)}`,
    `tuntap add dev ${tapOf(PROBE)} mode tap`,
  ]);
  ip(ns(UPSTREAM), [
    `address add ${GATEWAY}/${PREFIX_LENGTH} dev ${UPSTREAM_TRUNK}`,
    `address add ${GATEWAY6}/64 dev ${UPSTREAM_TRUNK} nodad`,
    `link set ${UPSTREAM_TRUNK} up`,
    `link add wan type veth peer name eth0 netns ${ns(CLIENT)}`,
    `address add ${CLIENT_NET.router}/${CLIENT_NET.length} dev wan`,
    'link set wan up',
  ]);
  inNs(ns(UPSTREAM), ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  ip(ns(CLIENT), [
    `address add ${CLIENT_NET.client}/${CLIENT_NET.length} dev eth0`,
    'link set eth0 up',
    `route add default via ${CLIENT_NET.router}`,
  ]);
  ip(ns(SERVER_GUEST.name), [
    `link set eth0 address ${SERVER_GUEST.mac}`,
    `address add ${SERVER_GUEST.address}/${PREFIX_LENGTH} dev eth0`,
    'link set eth0 up',
    `route add default via ${GATEWAY}`,
  ]);
  const dir = mkdtempSync(join(tmpdir(), `convergent-bench-${label}-`));
  run.removesDir(dir);
  return { label, node, ns, track: (pid) => run.track(pid), dir, rules: 0 };
}

/** Creates the other guests' taps in one `ip -batch`; returns its seconds. */
export function createTaps(lab: RoutedLab, taps: readonly string[]): number {
  const t = performance.now();
  if (taps.length > 0)
    ip(
      lab.node,
      taps.map((tap) => `tuntap add dev ${tap} mode tap`),
    );
  return (performance.now() - t) / 1000;
}
