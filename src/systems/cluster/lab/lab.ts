// The lab's verbs: prepare (everything that can fail before a side effect), up, check, test.
import { resolve as resolvePath } from 'node:path';
import type { HostPlan } from '../../../host/plan.ts';
import { formatPath } from '../../../input/problem.ts';
import { arpTableFulls, arpTableLimit, overflowProblem } from '../../../lab/neighbours.ts';
import type { NamespaceRun } from '../../../lab/netns.ts';
import { clearObservations, flowNodes, type Observations, readObservations } from '../../../lab/observe.ts';
import type { Outcome } from '../../../lab/outcome.ts';
import { reservePorts } from '../../../lab/ports.ts';
import { requireLab } from '../../../lab/preflight.ts';
import { writeState } from '../../../lab/registry.ts';
import type { CheckResult, Evidence, LabReport, ReportParts } from '../../../lab/result.ts';
import { mapLimit, type Runner } from '../../../lab/run.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { plural } from '../../../util/plural.ts';
import type { Fault } from '../../faults.ts';
import { formatHostRef } from '../checks.ts';
import { compileCluster } from '../compile/index.ts';
import { FEATURES } from '../features/index.ts';
import type { Check, Cluster } from '../model.ts';
import { type ClusterLabState, readCluster } from '../system.ts';
import { buildLab, type LabInstance, labInstance } from './build.ts';
import { gatherEvidence } from './evidence.ts';
import { cutNode, probesWithout } from './failure.ts';
import { clusterNeeds } from './needs.ts';
import { type FlowSeen, judge, runProbe } from './probe.ts';
import { defaultChecks, type Probe, probesOf, type ServerPorts, serversOf } from './probes.ts';
import { holdConnection } from './survival.ts';
import { labTopology, type Topology, UPSTREAM, WORKSTATION } from './topology.ts';

export interface Prepared {
  readonly file: string;
  readonly cluster: Cluster;
  readonly plans: readonly HostPlan[];
  readonly topology: Topology;
  /** True when the spec has no "checks:" and they were derived from its forwards and guests. */
  readonly derived: boolean;
  readonly probes: readonly Probe[];
  readonly servers: ReadonlyMap<string, ServerPorts>;
}

/** Reads, validates, compiles and plans the lab; throws (SpecError, LabError) before any side effect. */
export function prepare(file: string, faults: readonly Fault[] = []): Prepared {
  const cluster = readCluster(file);
  const plans = compileCluster(cluster, { faults });
  const topology = labTopology(cluster);
  const checks: readonly Check[] = cluster.checks ?? defaultChecks(cluster);
  const probes = probesOf(cluster, topology, checks);
  return {
    file: resolvePath(file),
    cluster,
    plans,
    topology,
    derived: cluster.checks === undefined,
    probes,
    servers: serversOf(probes),
  };
}

export interface UpOptions {
  readonly progress: (line: string) => void;
  /** After the checks, cut this node off and run the checks that do not need it again. */
  readonly cut?: string;
  readonly loadRulesets?: boolean;
  readonly runner?: Runner;
  /** Each node's own sshd (`lab up --ssh`). */
  readonly ssh?: boolean;
  /** Runs in each node's namespace before apply loads it (a test puts other software's objects there). */
  readonly beforeLoad?: (lab: LabInstance, node: string) => void;
}

export function labUp(p: Prepared, options: UpOptions): Promise<{ lab: LabInstance; run: NamespaceRun }> {
  return buildLab(p.cluster, p.topology, p.plans, { spec: p.file, servers: p.servers, ...options });
}

const PARALLEL_CLIENTS = 8;
const arpRank = (probe: Probe) => (probe.check.proto === 'arp' ? 0 : 1);
/** Failures re-run with captures; past this many the cause is rarely different. */
const MAX_EVIDENCE = 12;
/** A probe as planned: the client port its flow leaves from, and what came back. */
interface ProbeRun {
  readonly probe: Probe;
  readonly clientPort: number;
  readonly outcome: Outcome;
}

/**
 * Clients run side by side (each flow has its own client port); evidence is gathered one failure at
 * a time, later, so that the counters that move belong to that failure alone. ARP probes start
 * first: each listens a full second for every answer, the others end sooner. Probes that change
 * their client or listen everywhere run alone, last.
 */
async function runProbes(
  lab: LabInstance,
  probes: readonly Probe[],
  nextPort: () => number,
): Promise<ProbeRun[]> {
  const planned = probes.map((probe) => ({ probe, clientPort: nextPort() }));
  const arpFirst = planned
    .filter((r) => !r.probe.client15.alone)
    .sort((a, b) => arpRank(a.probe) - arpRank(b.probe));
  const outcomes = new Map(
    await mapLimit(
      arpFirst,
      PARALLEL_CLIENTS,
      async (r) => [r, await runProbe(lab, r.probe, r.clientPort)] as const,
    ),
  );
  // Those that change their client (its MAC, a spoofed address), a peer's neighbours, or listen on
  // every guest: one at a time, after the others.
  for (const r of planned.filter((x) => x.probe.client15.alone))
    outcomes.set(r, await runProbe(lab, r.probe, r.clientPort));
  return planned.flatMap((r) => {
    const outcome = outcomes.get(r);
    return outcome ? [{ ...r, outcome }] : [];
  });
}

/** Where a flow entered and left the cluster, from the upstream's observations of its client port. */
function flowOf(
  probe: Probe,
  clientPort: number,
  seen: Observations,
  nodeOfMac: ReadonlyMap<string, string>,
  detours: ReadonlySet<string>,
): FlowSeen {
  if (probe.port === undefined) return {};
  const nodes = flowNodes(
    seen,
    {
      proto: probe.check.proto === 'udp' ? 'udp' : 'tcp',
      clientPort,
      serverPort: probe.port,
      clientIsWorkstation: probe.client === WORKSTATION,
    },
    nodeOfMac,
  );
  return detours.has(`${probe.client}:${clientPort}`) ? { ...nodes, outran: true } : nodes;
}

/** The workstation's flows the features sent back through their entering node, as "workstation:port". */
function replyDetours(lab: LabInstance): Set<string> {
  const address = `${formatIPv4(lab.topology.workstation.address)}:`;
  const flows = FEATURES.flatMap((f) => [...(f.replyDetours?.(lab) ?? [])]);
  return new Set(
    flows.filter((f) => f.startsWith(address)).map((f) => `${WORKSTATION}:${f.slice(address.length)}`),
  );
}

function resultOf(
  run: ProbeRun,
  problems: string[],
  flow: FlowSeen,
  evidence: Evidence | undefined,
): CheckResult {
  const c = run.probe.check;
  return {
    name: c.name,
    source: formatPath(c.path),
    proto: c.proto,
    from: formatHostRef(c.from),
    to: formatHostRef(c.to),
    port: c.port,
    passed: problems.length === 0,
    problems,
    ...run.outcome,
    ...flow,
    clientPort: run.clientPort,
    evidence,
  };
}

/** Runs every probe once, then reads the wire observations, judges, and gathers evidence on failures. */
export async function runChecks(
  lab: LabInstance,
  p: Prepared,
  progress: (line: string) => void,
): Promise<LabReport> {
  const state = lab.state;
  const nextPort = reservePorts(state, p.probes.length + MAX_EVIDENCE);
  clearObservations(lab.runner, lab.ns(UPSTREAM));
  progress(
    `running ${plural(p.probes.length, 'check')}${p.derived ? ' (derived from the forwards and guests: the spec has no checks:)' : ''}`,
  );
  const fullBefore = arpTableFulls();
  const runs = await runProbes(lab, p.probes, nextPort);
  const full = arpTableFulls() - fullBefore;
  const overflow = full > 0 ? overflowProblem(full, arpTableLimit()) : undefined;
  const seen = readObservations(lab.runner, lab.ns(UPSTREAM));
  const detours = replyDetours(lab);
  // A bridged network's guest meets the upstream itself: its flows are seen at its own MAC.
  const nodeOfMac = new Map([
    ...Object.entries(state.uplinkMacs),
    ...lab.topology.nics.flatMap((n) => (n.nic.mac ? [[n.nic.mac, n.guest.name] as const] : [])),
  ]);

  const results: CheckResult[] = [];
  let investigated = 0;
  for (const run of runs) {
    const flow = flowOf(run.probe, run.clientPort, seen, nodeOfMac, detours);
    const problems = judge(run.probe, run.outcome, flow);
    // A failure then may be the table's, not the path's: the evidence run below often passes.
    if (overflow && problems.length > 0) problems.push(overflow);
    let evidence: Evidence | undefined;
    if (problems.length > 0 && investigated < MAX_EVIDENCE) {
      investigated++;
      progress(`failed: ${run.probe.check.name}; running it again to collect evidence`);
      evidence = await gatherEvidence(lab, run.probe, nextPort());
    }
    results.push(resultOf(run, problems, flow, evidence));
  }
  writeState(state);
  const failed = results.filter((r) => !r.passed).length;
  return {
    lab: lab.id,
    cluster: lab.cluster.name,
    faults: state.faults,
    derived: p.derived,
    passed: results.length - failed,
    failed,
    results,
    ...featureParts(lab),
  };
}

/** What the cluster's features add to the report (conntrackd's figures), in FEATURES order. */
function featureParts(lab: LabInstance): ReportParts {
  const parts: ReportParts = {};
  for (const feature of FEATURES) Object.assign(parts, feature.report?.(lab));
  return parts;
}

/** Up, check, down: the lab is removed whatever happens. */
export async function labTest(p: Prepared, options: UpOptions): Promise<LabReport> {
  const { lab, run } = await labUp(p, options);
  try {
    const report = await runChecks(lab, p, options.progress);
    if (options.cut === undefined) return report;
    const rest = { ...p, probes: probesWithout(p.cluster, p.probes, options.cut) };
    // Connections that need no part of the node stay open across the cut and must still answer.
    const tcp = rest.probes.filter((x) => x.check.proto === 'tcp' && x.client === WORKSTATION).slice(0, 8);
    const nextPort = reservePorts(lab.state, tcp.length);
    const held = await Promise.all(tcp.map((x) => holdConnection(lab, x, nextPort())));
    await cutNode(lab, options.cut, options.progress);
    const established = [];
    for (const [i, h] of held.entries()) {
      const again = await h.again();
      h.close();
      const ok = !h.opened.error && !again.error && again.answered === h.opened.answered;
      established.push({
        name: (tcp[i] as Probe).check.name,
        survived: ok,
        error: again.error ?? h.opened.error,
      });
    }
    const after = await runChecks(lab, rest, options.progress);
    return { ...report, afterCut: { node: options.cut, report: after, established } };
  } finally {
    run.cleanup();
  }
}

/** A lab that `lab up` left running, for `lab check` and `lab apply`; refused when a tool it runs is missing. */
export function attach(state: ClusterLabState, p: Prepared, runner: Runner): LabInstance {
  requireLab(clusterNeeds(p.plans));
  // A capture of `lab check` is stopped by the check itself; `lab down` kills what remains.
  return labInstance(state, { ...p, runner }, () => () => {});
}
