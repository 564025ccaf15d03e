// The lab's verbs: prepare (everything that can fail before a side effect), up, check, test.
import { resolve as resolvePath } from 'node:path';
import type { HostPlan } from '../../../host/plan.ts';
import { formatPath } from '../../../input/problem.ts';
import { arpTableFulls, arpTableLimit, overflowProblem } from '../../../lab/neighbours.ts';
import type { NamespaceRun } from '../../../lab/netns.ts';
import { clearObservations, flowNodes, readObservations } from '../../../lab/observe.ts';
import { type LabRecord, writeState } from '../../../lab/registry.ts';
import { mapLimit, type Runner } from '../../../lab/run.ts';
import { plural } from '../../../util/plural.ts';
import type { Fault } from '../../faults.ts';
import { formatHostRef } from '../checks.ts';
import { compileCluster } from '../compile/index.ts';
import { type SyncStat, syncStats } from '../features/ctsync/lab.ts';
import type { Check, Cluster } from '../model.ts';
import { type ClusterLabState, readCluster } from '../system.ts';
import { buildLab, type LabInstance, labInstance } from './build.ts';
import { type Evidence, gatherEvidence } from './evidence.ts';
import { cutNode, probesWithout } from './failure.ts';
import { judge, type Outcome, runProbe } from './probe.ts';
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
}

export function labUp(p: Prepared, options: UpOptions): Promise<{ lab: LabInstance; run: NamespaceRun }> {
  return buildLab(p.cluster, p.topology, p.plans, { spec: p.file, servers: p.servers, ...options });
}

export interface CheckResult {
  readonly name: string;
  /** Where the check comes from in the spec: "checks[2]", or the forward or guest it was derived from. */
  readonly source: string;
  readonly proto: string;
  readonly from: string;
  readonly to: string;
  readonly port?: number;
  readonly passed: boolean;
  readonly problems: readonly string[];
  readonly answered?: string;
  readonly saw?: string;
  readonly replyFrom?: string;
  /** The client's wait for the answer (ms), and for udp the datagrams it sent. */
  readonly ms?: number;
  readonly tries?: number;
  /** The node the workstation's packets entered the cluster through (seen on the uplink). */
  readonly enters?: string;
  /** The node packets toward the workstation left the cluster through. */
  readonly leaves?: string;
  readonly clientPort: number;
  readonly evidence?: Evidence;
}

export interface LabReport {
  readonly lab: string;
  readonly cluster: string;
  readonly faults: readonly string[];
  readonly derived: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly CheckResult[];
  /** conntrackd on each node after the checks (strategy ctsync): the sync is real and moving. */
  readonly sync?: readonly SyncStat[];
  /** The checks run again after cutting a node off (`lab test --cut`). */
  readonly afterCut?: {
    readonly node: string;
    readonly report: LabReport;
    /** TCP connections opened before the cut, through other nodes: did each still answer after it? */
    readonly established: readonly {
      readonly name: string;
      readonly survived: boolean;
      readonly error?: string;
    }[];
  };
}

const PARALLEL_CLIENTS = 8;
const arpRank = (probe: Probe) => (probe.check.proto === 'arp' ? 0 : 1);
/** Failures re-run with captures; past this many the cause is rarely different. */
const MAX_EVIDENCE = 12;
export const FIRST_PORT = 20000;
const LAST_PORT = 59999;

/**
 * Client ports for `count` flows, reserved in the lab's state before anything is sent: a run that
 * dies half-way, or one running beside it, must not reuse a port whose flow still sits in conntrack
 * or TIME_WAIT.
 */
export function reservePorts(state: LabRecord, count: number): () => number {
  let port = state.nextPort + count > LAST_PORT + 1 ? FIRST_PORT : state.nextPort;
  state.nextPort = port + count;
  writeState(state);
  return () => port++;
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
  // Clients run side by side (each flow has its own client port); evidence is gathered one
  // failure at a time, so that the counters that move belong to that failure alone.
  // ARP probes start first: each listens a full second for every answer, the others end sooner.
  const planned = p.probes.map((probe) => ({ probe, clientPort: nextPort() }));
  const arpFirst = [...planned].sort((a, b) => arpRank(a.probe) - arpRank(b.probe));
  const fullBefore = arpTableFulls();
  const outcomes = new Map(
    await mapLimit(
      arpFirst,
      PARALLEL_CLIENTS,
      async (r) => [r, await runProbe(lab, r.probe, r.clientPort)] as const,
    ),
  );
  const runs = planned.map((r) => ({ ...r, outcome: outcomes.get(r) as Outcome }));
  const full = arpTableFulls() - fullBefore;
  const overflow = full > 0 ? overflowProblem(full, arpTableLimit()) : undefined;
  const seen = readObservations(lab.runner, lab.ns(UPSTREAM));
  const nodeOfMac = new Map(Object.entries(state.uplinkMacs));

  const results: CheckResult[] = [];
  let investigated = 0;
  for (const { probe, clientPort, outcome } of runs) {
    const flow =
      probe.port === undefined
        ? {}
        : flowNodes(
            seen,
            {
              proto: probe.check.proto === 'udp' ? 'udp' : 'tcp',
              clientPort,
              serverPort: probe.port,
              clientIsWorkstation: probe.client === WORKSTATION,
            },
            nodeOfMac,
          );
    const problems = judge(probe, outcome, flow);
    // A failure then may be the table's, not the path's: the evidence run below often passes.
    if (overflow && problems.length > 0) problems.push(overflow);
    let evidence: Evidence | undefined;
    if (problems.length > 0 && investigated < MAX_EVIDENCE) {
      investigated++;
      progress(`failed: ${probe.check.name}; running it again to collect evidence`);
      evidence = await gatherEvidence(lab, probe, nextPort());
    }
    const c = probe.check;
    results.push({
      name: c.name,
      source: formatPath(c.path),
      proto: c.proto,
      from: formatHostRef(c.from),
      to: formatHostRef(c.to),
      port: c.port,
      passed: problems.length === 0,
      problems,
      ...outcome,
      ...flow,
      clientPort,
      evidence,
    });
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
    ...(lab.plans.some((plan) => plan.conntrackd) ? { sync: syncStats(lab) } : {}),
  };
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

/** A lab that `lab up` left running, for `lab check`. */
export function attach(state: ClusterLabState, p: Prepared, runner: Runner): LabInstance {
  // A capture of `lab check` is stopped by the check itself; `lab down` kills what remains.
  return labInstance(state, { ...p, runner }, () => () => {});
}
