// Makes a topology real: namespaces, veth pairs, the upstream router and workstation, each node's
// rendered files loaded unchanged (ip -batch, sysctl -p, nft -f), guests plugged into their
// bridges, and the servers the checks need. Nothing touches the root namespace: every veth is
// created inside a lab namespace with its peer placed straight into another one.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HostPlan } from '../../../host/plan.ts';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import { describeCapabilities, probeCapabilities } from '../../../lab/capabilities.ts';
import { NamespaceRun } from '../../../lab/netns.ts';
import { observerRuleset } from '../../../lab/observe.ts';
import { paced, seconds } from '../../../lab/pace.ts';
import { BRIDGE_NF, clusterNeeds, requireLab } from '../../../lab/preflight.ts';
import { labDir, SPEC_COPY, writeState } from '../../../lab/registry.ts';
import { type AsyncRunner, type Runner, realAsyncRunner, realRunner, runChecked } from '../../../lab/run.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { plural } from '../../../util/plural.ts';
import { startConntrackd } from '../features/ctsync/lab.ts';
import type { Cluster } from '../model.ts';
import { FILES, renderNode, textOf } from '../render.ts';
import type { ClusterLabState } from '../system.ts';
import type { ServerPorts } from './probes.ts';
import { LabError, type Topology, UPSTREAM, type VethPair, WORKSTATION } from './topology.ts';

export interface LabInstance {
  readonly id: string;
  readonly dir: string;
  readonly cluster: Cluster;
  readonly topology: Topology;
  readonly plans: readonly HostPlan[];
  readonly state: ClusterLabState;
  readonly runner: Runner;
  readonly runAsync: AsyncRunner;
  ns(host: string): string;
  /** A process started in the lab (a capture), killed with the lab unless it ended; returns untrack. */
  track(pid: number): () => void;
}

/** The handle on a lab, whether this process built it or `lab up` did earlier. */
export function labInstance(
  state: ClusterLabState,
  parts: { cluster: Cluster; topology: Topology; plans: readonly HostPlan[]; runner: Runner },
  track: (pid: number) => () => void,
): LabInstance {
  return {
    id: state.id,
    dir: labDir(state.id),
    ...parts,
    state,
    runAsync: realAsyncRunner,
    ns: (host) => state.hosts[host]?.ns ?? `${state.id}-${host}`,
    track,
  };
}

export interface BuildOptions {
  /** Absolute path of the spec; a copy goes into the lab's directory for `lab check`. */
  readonly spec: string;
  readonly servers: ReadonlyMap<string, ServerPorts>;
  /** Load each node's nftables.conf (false only for a benchmark's no-ruleset baseline). */
  readonly loadRulesets?: boolean;
  readonly progress: (line: string) => void;
  readonly runner?: Runner;
}

export async function buildLab(
  cluster: Cluster,
  topology: Topology,
  plans: readonly HostPlan[],
  options: BuildOptions,
): Promise<{ lab: LabInstance; run: NamespaceRun }> {
  // Before anything exists: a missing tool or module is refused with what to install or load.
  requireLab(clusterNeeds(plans), plans);
  const runner = options.runner ?? realRunner;
  const run = new NamespaceRun(runner);
  const dir = labDir(run.id);
  run.removesDir(dir);
  const state: ClusterLabState = {
    id: run.id,
    kind: 'cluster',
    name: cluster.name,
    spec: options.spec,
    faults: plans[0]?.faults ?? [],
    created: new Date().toISOString(),
    hosts: Object.fromEntries(topology.hosts.map((h) => [h.name, { role: h.role, ns: run.ns(h.name) }])),
    pids: [],
    nextPort: 20000,
    notes: [...topology.notes],
    uplinkMacs: {},
  };
  const lab = labInstance(state, { cluster, topology, plans, runner }, (pid) => run.track(pid));
  const say = options.progress;
  const note = (text: string) => {
    say(text);
    (state.notes as string[]).push(text);
  };
  try {
    // logs/ belongs to the lab, not to its servers: HAProxy and conntrackd log there too, also in a
    // lab that starts no server (a benchmark's, which runs its own).
    mkdirSync(join(dir, 'logs'), { recursive: true });
    copyFileSync(options.spec, join(dir, SPEC_COPY));
    writeState(state);
    run.addAll(topology.hosts.map((h) => h.name));
    for (const h of topology.hosts) loopbackDown.add(lab.ns(h.name));
    say(`lab ${run.id}: ${plural(topology.hosts.length, 'namespace')}`);
    // The upstream exists first: device types are probed there, never in the machine's namespace.
    const wan = topology.links.filter((l) => l.a.host === UPSTREAM || l.b.host === UPSTREAM);
    createLinks(lab, wan, false);
    const have = probeCapabilities(lab.runner, lab.ns(UPSTREAM), 'wan0');
    createLinks(
      lab,
      topology.links.filter((l) => !wan.includes(l)),
      have.has('vlan'),
    );
    say(
      `${plural(topology.links.length, 'veth pair')} (uplink ports, pipes, guest vifs) with the spec's names`,
    );
    setUpUpstream(lab);
    note(describeCapabilities(have));
    const vlan = vlanNote(lab, have.has('vlan'));
    if (vlan) note(vlan);
    const bridgeNf = existsSync(BRIDGE_NF);
    // A node's own sysctl.d may set it afterwards (ctsync turns it off).
    const ownSetting = plans.some((x) =>
      x.sysctls.some((c) => c.key.join('.') === 'net.bridge.bridge-nf-call-iptables'),
    );
    note(
      bridgeNf
        ? `br_netfilter is on in every node (bridge-nf-call-iptables=1), as on a host that loaded it: bridged guest traffic meets the ip hooks and conntrack${ownSetting ? "; then each node's sysctl.d sets its own value" : ''}`
        : 'br_netfilter is not loaded on this machine: bridged guest traffic skips the ip hooks',
    );
    const serversReady = startServers(lab, options.servers, state.pids as number[]);
    for (const plan of plans) loadNode(lab, plan, { ruleset: options.loadRulesets ?? true, bridgeNf }, say);
    plugGuests(lab);
    for (const h of topology.hosts) batch(lab, h.name, []);
    await serversReady();
    await startProxies(lab, plans, state.pids as number[], say);
    await startConntrackd(lab, state.pids as number[], say);
    writeState(state);
    say(`servers listening on ${plural(options.servers.size, 'host')}`);
    await waitForPorts(lab);
    if (cluster.networks.some((n) => n.stp)) await waitForStp(lab, say);
    return { lab, run };
  } catch (err) {
    run.cleanup();
    throw err;
  }
}

// Namespaces whose loopback is still down (NamespaceRun.addAll): the first batch there brings it up.
const loopbackDown = new Set<string>();

function batch(lab: LabInstance, host: string, lines: readonly string[]): void {
  const all = loopbackDown.delete(lab.ns(host)) ? ['link set lo up', ...lines] : lines;
  if (all.length === 0) return;
  runChecked(lab.runner, ['ip', '-n', lab.ns(host), '-batch', '-'], { input: `${all.join('\n')}\n` });
}

function sh(lab: LabInstance, host: string, argv: readonly string[], input?: string): string {
  return runChecked(lab.runner, ['ip', 'netns', 'exec', lab.ns(host), ...argv], { input });
}

/** Veth pairs; a VLAN pipe as its parents' pair with real 802.1Q subinterfaces when `vlan`. */
function createLinks(lab: LabInstance, links: readonly VethPair[], vlan: boolean): void {
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
  for (const [host, lines] of byHost) batch(lab, host, lines);
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
  for (const [host, lines] of byHost) batch(lab, host, lines);
}

function setUpUpstream(lab: LabInstance): void {
  const { upstream, workstation } = lab.topology;
  const ports = [...upstream.portOf.values()];
  batch(lab, UPSTREAM, [
    `link add ${upstream.bridge} type bridge stp_state 0`,
    ...ports.flatMap((p) => [`link set ${p} master ${upstream.bridge}`, `link set ${p} up`]),
    `link set ${upstream.bridge} up`,
    `address add ${upstream.uplinkCidr} dev ${upstream.bridge}`,
    'link set wan0 up',
    `address add ${upstream.wanCidr} dev wan0`,
  ]);
  sh(lab, UPSTREAM, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  sh(lab, UPSTREAM, ['nft', '-f', '-'], observerRuleset(formatIPv4(workstation.address)));
  batch(lab, WORKSTATION, [
    'link set eth0 up',
    `address add ${workstation.cidr} dev eth0`,
    `route add default via ${workstation.gateway}`,
  ]);
}

/** How the VLAN pipes are modelled, on this kernel. */
function vlanNote(lab: LabInstance, real: boolean): string | undefined {
  const pipes = lab.topology.links.filter((l) => l.vlan);
  if (pipes.length === 0) return undefined;
  const names = [...new Set(pipes.flatMap((l) => [l.a.ifname, l.b.ifname]))].sort().join(', ');
  return real
    ? `pipes ${names} are 802.1Q subinterfaces on veth pairs of their parents, tagged as on a direct link`
    : `pipes ${names} are plain veth pairs with the spec's names (untagged), standing in for 802.1Q subinterfaces`;
}

function loadNode(
  lab: LabInstance,
  plan: HostPlan,
  load: { ruleset: boolean; bridgeNf: boolean },
  say: (l: string) => void,
): void {
  const dir = join(lab.dir, 'nodes', plan.node);
  for (const file of renderNode(plan)) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, textOf(file));
  }
  const ns = lab.ns(plan.node);
  const run = (what: string, argv: string[]) => {
    const r = lab.runner(argv);
    if (r.code !== 0) throw new LabError(`node ${plan.node}: ${what} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const step = (what: string, argv: string[]) => run(what, ['ip', 'netns', 'exec', ns, ...argv]);
  // `ip -n` enters the namespace itself: one process start less than through `ip netns exec`.
  const ip = (what: string, args: string[]) => run(what, ['ip', '-n', ns, ...args]);
  ip(`ip -batch ${FILES.ipBatch}`, ['-batch', join(dir, FILES.ipBatch)]);
  // First the host's environment, not the node's files: what a host with br_netfilter loaded has.
  // Then the node's own sysctl.d, which may change it. One sysctl process for both.
  const environment = join(lab.dir, 'host-environment.conf');
  writeFileSync(environment, load.bridgeNf ? 'net.bridge.bridge-nf-call-iptables = 1\n' : '');
  step(`sysctl -p ${FILES.sysctl}`, ['sysctl', '-q', '-p', environment, join(dir, FILES.sysctl)]);
  if (load.ruleset) step(`nft -f ${FILES.nftables}`, ['nft', '-f', join(dir, FILES.nftables)]);
  const node = lab.cluster.nodes.find((n) => n.name === plan.node);
  if (node) {
    const [link] = JSON.parse(ip('ip link show', ['-j', 'link', 'show', node.uplinkBridge])) as {
      address: string;
    }[];
    if (link) (lab.state.uplinkMacs as Record<string, string>)[link.address] = node.name;
  }
  const rules = plan.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  say(
    `${plan.node}: loaded ${FILES.ipBatch}, ${FILES.sysctl}${load.ruleset ? `, ${FILES.nftables} (${rules} rules)` : ' (no ruleset: baseline)'}`,
  );
}

function plugGuests(lab: LabInstance): void {
  const byNode = new Map<string, string[]>();
  for (const g of lab.topology.guests) {
    byNode.set(g.guest.node, [
      ...(byNode.get(g.guest.node) ?? []),
      `link set ${g.vif} master ${g.network.bridge}`,
      `link set ${g.vif} up`,
    ]);
    batch(lab, g.guest.name, [
      'link set eth0 up',
      `address add ${g.cidr} dev eth0`,
      `route add default via ${g.gateway}`,
    ]);
  }
  for (const [node, lines] of byNode) batch(lab, node, lines);
}

/**
 * Starts each host's server, detached (it outlives `lab up`), before the nodes load: a Python start
 * takes 0.4-2 s in the VM lab, time the nodes' loading can use. The result waits until all listen.
 */
function startServers(
  lab: LabInstance,
  servers: ReadonlyMap<string, ServerPorts>,
  pids: number[],
): () => Promise<void> {
  const logs = join(lab.dir, 'logs');
  const started = [...servers].map(([host, ports]) =>
    startServer(
      lab.ns(host),
      host,
      [
        ...ports.http.flatMap((p) => ['--http', String(p)]),
        ...ports.tcp.flatMap((p) => ['--tcp', String(p)]),
        ...ports.udp.flatMap((p) => ['--udp', String(p)]),
      ],
      logs,
      (pid) => {
        lab.track(pid);
        pids.push(pid);
      },
    ),
  );
  return async () => {
    await Promise.all(started.map((ready) => ready()));
  };
}

/**
 * Starts the lab's server.py as `host` in namespace `ns`, detached (it outlives `lab up`), its stderr
 * in <logs>/<host>.log. The result waits until it listens; the wait and its timeout begin only when
 * called, so a build can start its servers first and do other work meanwhile.
 */
export function startServer(
  ns: string,
  host: string,
  args: readonly string[],
  logs: string,
  track: (pid: number) => void,
): () => Promise<void> {
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${host}.log`);
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, PYTHON, join(AGENT_DIR, 'server.py'), '--name', host, ...args],
    {
      detached: true,
      stdio: ['ignore', 'pipe', openSync(log, 'a')],
    },
  );
  if (child.pid !== undefined) track(child.pid);
  let out = '';
  let exited: number | null | undefined;
  let watch = () => {};
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    watch();
  });
  child.on('exit', (code) => {
    exited = code;
    watch();
  });
  const limit = paced(15_000);
  return () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LabError(`the server on ${host} did not start within ${seconds(limit)}`)),
        limit,
      );
      timer.unref(); // a failed start must not hold the process open for the others' timers
      watch = () => {
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          child.stdout?.destroy();
          child.unref();
          resolve();
        } else if (exited !== undefined) {
          clearTimeout(timer);
          reject(new LabError(`the server on ${host} exited (${exited}); see ${log}`));
        }
      };
      watch();
    });
}

/** Each node's HAProxy, run as the operator would (`haproxy -f haproxy.cfg`), in the foreground. */
async function startProxies(
  lab: LabInstance,
  plans: readonly HostPlan[],
  pids: number[],
  say: (l: string) => void,
): Promise<void> {
  const withProxies = plans.filter((p) => p.proxies.length > 0);
  if (withProxies.length === 0) return;
  // All start at once, then the lab waits for each to listen (haproxy takes 2-3 s to in the VM lab).
  for (const plan of withProxies) {
    const cfg = join(lab.dir, 'nodes', plan.node, FILES.haproxy);
    const log = openSync(join(lab.dir, 'logs', `${plan.node}-haproxy.log`), 'a');
    // -db: stay in the foreground, so the PID is the proxy's and the lab can stop it.
    const child = spawn('ip', ['netns', 'exec', lab.ns(plan.node), 'haproxy', '-db', '-f', cfg], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new LabError(`node ${plan.node}: haproxy did not start`);
    lab.track(child.pid);
    pids.push(child.pid);
    child.unref();
  }
  for (const plan of withProxies)
    for (const proxy of plan.proxies)
      await waitListening(lab, plan.node, proxy.bind, `haproxy on ${plan.node}`);
  say(`haproxy listening on ${withProxies.map((p) => p.node).join(', ')}`);
}

async function waitListening(lab: LabInstance, host: string, bind: string, what: string): Promise<void> {
  const limit = paced(10_000);
  const deadline = Date.now() + limit;
  const port = bind.slice(bind.lastIndexOf(':') + 1);
  while (Date.now() < deadline) {
    // ss -N enters the namespace itself: one process start less than through `ip netns exec`.
    if (runChecked(lab.runner, ['ss', '-N', lab.ns(host), '-Hltn', `sport = :${port}`]).trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new LabError(
    `${what} does not listen on ${bind} after ${seconds(limit)}; see ${join(lab.dir, 'logs')}`,
  );
}

/**
 * A bridge port forwards only once the kernel's link watcher has seen its carrier, up to a second
 * after both ends of a veth are up: until then the port is "disabled" and drops every frame (the
 * first ARP request of a check went unanswered by the other node). Waits for every bridge port of
 * the nodes and the upstream to forward, but those of STP bridges, which waitForStp deals with.
 */
export async function waitForPorts(lab: LabInstance): Promise<void> {
  const stp = new Set(lab.cluster.networks.filter((n) => n.stp).map((n) => n.bridge));
  const hosts = [UPSTREAM, ...lab.cluster.nodes.map((n) => n.name)];
  await waitUntilSettled('bridge ports still not forwarding', 50, () =>
    hosts.flatMap((host) => portsNotForwarding(lab.runner, lab.ns(host), host, stp)),
  );
}

/** Bridge ports in a namespace that do not forward yet (but those of `skip` bridges), as "host port (state)". */
export function portsNotForwarding(
  runner: Runner,
  ns: string,
  host: string,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  return (JSON.parse(runChecked(runner, ['bridge', '-n', ns, '-j', 'link', 'show']) || '[]') as PortState[])
    .filter((p) => p.master !== undefined && !skip.has(p.master) && p.state !== 'forwarding')
    .map((p) => `${host} ${p.ifname} (${p.state})`);
}

/** Polls until nothing is `waiting`; after 10 s (at the lab's pace), a LabError naming what still is. */
export async function waitUntilSettled(
  what: string,
  everyMs: number,
  waiting: () => string[] | Promise<string[]>,
): Promise<void> {
  const limit = paced(10_000);
  const deadline = Date.now() + limit;
  for (;;) {
    const left = await waiting();
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new LabError(`${what} after ${seconds(limit)}: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `bridge -n` enters the namespace itself: one process start less than through `ip netns exec`. */
function bridgePorts(lab: LabInstance, host: string): string {
  return runChecked(lab.runner, ['bridge', '-n', lab.ns(host), '-j', 'link', 'show']);
}

interface PortState {
  readonly ifname: string;
  readonly master?: string;
  readonly state?: string;
}

/**
 * With STP, ports listen and learn for 2 x forward_delay before they forward; after a node fails,
 * a blocked port may also wait for max_age (20 s) before it takes over. Settled means: no port
 * listening or learning, and as many pipe ports blocking as the remaining pipes have loops.
 */
export async function waitForStp(
  lab: LabInstance,
  say: (l: string) => void,
  cut: ReadonlySet<string> = new Set(),
): Promise<void> {
  say('waiting for STP to settle on the guest bridges');
  const started = Date.now();
  const nodes = lab.cluster.nodes.map((n) => n.name).filter((n) => !cut.has(n));
  const networks = lab.cluster.networks
    .filter((n) => n.stp)
    .map((network) => {
      const pipes = network.pipes.filter((p) => p.ends.every((e) => !cut.has(e.node)));
      const ends = pipes.flatMap((p) => p.ends);
      return { network, ends, loops: Math.max(0, pipes.length - new Set(ends.map((e) => e.node)).size + 1) };
    });
  for (;;) {
    const states = new Map(
      nodes.map((n) => [n, JSON.parse(bridgePorts(lab, n)) as { ifname: string; state?: string }[]]),
    );
    const moving = [...states.values()].some((ports) =>
      ports.some((p) => p.state === 'listening' || p.state === 'learning'),
    );
    const blocking = networks.map(({ network, ends, loops }) => ({
      network,
      loops,
      ports: ends.filter((e) => states.get(e.node)?.find((p) => p.ifname === e.ifname)?.state === 'blocking'),
    }));
    const settled = !moving && blocking.every((b) => b.ports.length === b.loops);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (settled || Date.now() - started > STP_TIMEOUT_MS) {
      for (const b of blocking) {
        const list = b.ports.map((e) => `${e.node} ${e.ifname}`).join(', ') || 'none';
        if (b.ports.length !== b.loops)
          throw new LabError(
            `STP on ${b.network.name} still blocks ${plural(b.ports.length, 'pipe port')} (${list}) after ${seconds} s, where the pipes have ${plural(b.loops, 'loop')}: ` +
              `${b.ports.length < b.loops ? 'a loop is left open' : 'the guest segment is cut in two'}`,
          );
        say(`${b.network.name}: STP settled after ${seconds} s; blocking: ${list}`);
      }
      if (!settled) throw new LabError(`STP did not settle within ${STP_TIMEOUT_MS / 1000} s`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Up to max_age (20 s) for stale information to expire, then 2 x forward_delay (at most 30 s each). */
const STP_TIMEOUT_MS = 90_000;
