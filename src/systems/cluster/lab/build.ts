// Makes a topology real: namespaces, veth pairs, the upstream router and workstation, each node's
// rendered files loaded unchanged (sh network.sh, sysctl -p, nft -f), guests plugged into their
// bridges, the servers the checks need and what the features start (HAProxy, conntrackd). Nothing
// touches the root namespace: every veth is created inside a lab namespace with its peer placed
// straight into another one.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostPlan } from '../../../host/plan.ts';
import { describeCapabilities, probeCapabilities } from '../../../lab/capabilities.ts';
import { NamespaceRun } from '../../../lab/netns.ts';
import { FIRST_PORT } from '../../../lab/ports.ts';
import { BRIDGE_NF, requireLab } from '../../../lab/preflight.ts';
import { labDir, SPEC_COPY, writeState } from '../../../lab/registry.ts';
import { type AsyncRunner, type Runner, realAsyncRunner, realRunner } from '../../../lab/run.ts';
import { plural } from '../../../util/plural.ts';
import { FEATURES } from '../features/index.ts';
import type { Cluster } from '../model.ts';
import type { ClusterLabState } from '../system.ts';
import { startAppliances } from './appliance.ts';
import { clusterNeeds, requireDevices } from './needs.ts';
import { loadNode, startServers } from './nodes.ts';
import type { ServerPorts } from './probes.ts';
import { waitForDad, waitForPorts, waitForStp } from './settle.ts';
import { startSshd } from './ssh.ts';
import type { Topology } from './topology.ts';
import { UPSTREAM } from './topology.ts';
import { createLinks, plugGuests, setUpUpstream, vlanNote, type Wiring, wiring } from './wiring.ts';

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
  /** `lab up --ssh`: each node's own sshd, and the lab's ansible.cfg and inventory (ssh.ts). */
  readonly ssh?: boolean;
  /** Runs before apply loads each node (a test puts other software's objects in its namespace). */
  readonly beforeLoad?: (lab: LabInstance, node: string) => void;
}

/** What the build adds to the lab's state as it goes: the state's own fields are read-only. */
interface BuildRecord {
  readonly pids: number[];
  readonly notes: string[];
  readonly uplinkMacs: { [mac: string]: string };
}

function newState(
  run: NamespaceRun,
  cluster: Cluster,
  topology: Topology,
  plans: readonly HostPlan[],
  spec: string,
  record: BuildRecord,
): ClusterLabState {
  return {
    id: run.id,
    kind: 'cluster',
    name: cluster.name,
    spec,
    faults: plans[0]?.faults ?? [],
    created: new Date().toISOString(),
    hosts: Object.fromEntries(topology.hosts.map((h) => [h.name, { role: h.role, ns: run.ns(h.name) }])),
    pids: record.pids,
    nextPort: FIRST_PORT,
    notes: record.notes,
    uplinkMacs: record.uplinkMacs,
  };
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
  requireDevices(cluster, runner);
  const run = new NamespaceRun(runner);
  run.removesDir(labDir(run.id));
  const record: BuildRecord = { pids: [], notes: [...topology.notes], uplinkMacs: {} };
  const state = newState(run, cluster, topology, plans, options.spec, record);
  const lab = labInstance(state, { cluster, topology, plans, runner }, (pid) => run.track(pid));
  const say = options.progress;
  const note = (text: string) => {
    say(text);
    record.notes.push(text);
  };
  try {
    // logs/ belongs to the lab, not to its servers: HAProxy and conntrackd log there too, also in a
    // lab that starts no server (a benchmark's, which runs its own).
    mkdirSync(join(lab.dir, 'logs'), { recursive: true });
    copyFileSync(options.spec, join(lab.dir, SPEC_COPY));
    writeState(state);
    run.addAll(topology.hosts.map((h) => h.name));
    say(`lab ${run.id}: ${plural(topology.hosts.length, 'namespace')}`);
    const wire = wiring(lab);
    wireUp(lab, wire, say, note);
    const bridgeNf = existsSync(BRIDGE_NF);
    note(bridgeNfNote(plans, bridgeNf));
    const serversReady = startServers(lab, options.servers, record.pids);
    for (const plan of plans) {
      options.beforeLoad?.(lab, plan.node);
      const mac = await loadNode(lab, plan, { ruleset: options.loadRulesets ?? true, bridgeNf }, say);
      if (mac) record.uplinkMacs[mac] = plan.node;
    }
    const plugged = plugGuests(lab, wire, options.loadRulesets ?? true);
    if (plugged.length > 0) say(`guests plugged by nic up: ${plugged.length} taps (${plugged[0]}, ...)`);
    for (const line of startAppliances(lab)) note(line);
    for (const h of topology.hosts) wire.batch(h.name, []);
    await serversReady();
    for (const feature of FEATURES)
      if (feature.startInLab) record.pids.push(...(await feature.startInLab(lab, say)));
    if (options.ssh) record.pids.push(...(await startSshd(lab, say)));
    writeState(state);
    say(`servers listening on ${plural(options.servers.size, 'host')}`);
    await waitForPorts(lab);
    await waitForDad(lab);
    if (cluster.networks.some((n) => n.stp)) await waitForStp(lab, say);
    return { lab, run };
  } catch (err) {
    run.cleanup();
    throw err;
  }
}

/** The links and the upstream: the upstream's first, as device types are probed there, never in the machine's namespace. */
function wireUp(lab: LabInstance, wire: Wiring, say: (l: string) => void, note: (l: string) => void): void {
  const links = lab.topology.links;
  const wan = links.filter((l) => l.a.host === UPSTREAM || l.b.host === UPSTREAM);
  createLinks(lab, wire, wan, false);
  const have = probeCapabilities(lab.runner, lab.ns(UPSTREAM), 'wan0');
  createLinks(
    lab,
    wire,
    links.filter((l) => !wan.includes(l)),
    have.has('vlan'),
  );
  say(`${plural(links.length, 'veth pair')} (uplink ports, pipes, guest vifs) with the spec's names`);
  setUpUpstream(lab, wire);
  note(describeCapabilities(have));
  const vlan = vlanNote(lab, have.has('vlan'));
  if (vlan) note(vlan);
}

function bridgeNfNote(plans: readonly HostPlan[], bridgeNf: boolean): string {
  // A node's own sysctl.d may set it afterwards (ctsync turns it off).
  const ownSetting = plans.some((x) =>
    x.sysctls.some((c) => c.key.join('.') === 'net.bridge.bridge-nf-call-iptables'),
  );
  return bridgeNf
    ? `br_netfilter is on in every node (bridge-nf-call-iptables=1), as on a host that loaded it: bridged guest traffic meets the ip hooks and conntrack${ownSetting ? "; then each node's sysctl.d sets its own value" : ''}`
    : 'br_netfilter is not loaded on this machine: bridged guest traffic skips the ip hooks';
}
