// The lab, timed and measured (as root; every namespace carries a run's prefix and is removed
// whatever happens; nothing is attached to the machine's interfaces or changed in its namespace):
//   lab test   prepare + up + checks + down of each example, 3 runs, median
//   iperf3     TCP from the workstation to guest1 of the stateless example (with a forward tcp/5201),
//              through the node that does not host guest1 (foreign path) and the one that does (local
//              path), against the same lab without rulesets, where the upstream routes the guest
//              subnet to that node (3 runs each, interleaved, median)
//   lab up     up, then cleanup, of a generated 20-node, 200-guest cluster (one run; last, so that
//              the kernel's deferred teardown of its namespaces disturbs nothing else)
// Baselines are measured in the same run: creating and deleting as many bare network namespaces
// (cvg-<pid>-bench-<n>) for the timings; plain routing through the same namespaces for iperf3.
// Run: npm run bench:lab [-- --json]   (figures go into bench/README.md; the table goes to stderr
// with --json, the JSON to stdout; RUNS, IPERF_RUNS and IPERF_SECONDS override 3, 15 and 3; --smoke
// runs once, 1 s, part4 alone and a 3-node, 6-guest cluster, to prove the bench works)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import type { NamespaceRun } from '../src/lab/netns.ts';
import { realRunner } from '../src/lab/run.ts';
import type { LabInstance } from '../src/systems/cluster/lab/build.ts';
import { labTest, labUp, type Prepared, prepare } from '../src/systems/cluster/lab/lab.ts';
import { formatIPv4, formatPrefix } from '../src/util/ipv4.ts';
import { generateSpec } from '../test/support/generate.ts';
import { IPERF_OMIT, SMOKE_LINE, setting, smoke } from './smoke.ts';
import {
  IPERF_PORT,
  type IperfRun,
  iperfRun,
  json,
  machineInfo,
  machineLine,
  median,
  note,
  otherNamespaces as others,
  out,
  routeVia,
  sh,
  startIperfServer,
  tempSpec,
  warnOthers,
} from './support.ts';

const RUNS = setting('RUNS', 3, 1);
const IPERF_SECONDS = setting('IPERF_SECONDS', 3, 1);
// On a small VM one iperf3 run varies by +-15%: many short rounds, each pairing a measurement with
// its baseline back to back, give a steadier ratio than a few long ones.
const IPERF_RUNS = setting('IPERF_RUNS', 15, 1);
const EXAMPLES = ['examples/part4-stateless.yaml', ...(smoke ? [] : ['examples/part3-fullnat.yaml'])];
const GENERATED = {
  nodes: smoke ? 3 : 20,
  guests: smoke ? 6 : 200,
  forwards: smoke ? 6 : 200,
  strategy: 'mixed',
} as const;

/** Creates and deletes `count` bare namespaces, one `ip` process each, as NamespaceRun does. */
function bareNamespaces(count: number): { addMs: number; delMs: number } {
  const names = Array.from({ length: count }, (_, i) => `cvg-${process.pid}-bench-${i + 1}`);
  const created: string[] = [];
  // While a listener exists a signal does not kill the process mid-loop; it is handled once this
  // synchronous function (and its finally) has returned: then it is raised again, unhandled.
  const onSignal = (signal: NodeJS.Signals) => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const t = performance.now();
    for (const ns of names) {
      sh(['ip', 'netns', 'add', ns]);
      created.push(ns);
    }
    const addMs = performance.now() - t;
    const d = performance.now();
    while (created.length > 0) sh(['ip', 'netns', 'del', created.pop() as string]);
    return { addMs, delMs: performance.now() - d };
  } finally {
    for (const ns of created) realRunner(['ip', 'netns', 'del', ns]);
    // After a signal that arrived meanwhile has been delivered (the poll phase comes first).
    setImmediate(() => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    });
  }
}

// 1. lab test of each example ------------------------------------------------------------------

interface LabTestFigure {
  readonly example: string;
  readonly namespaces: number;
  readonly checks: number;
  readonly passed: number;
  readonly failed: number;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly baselineRunsMs: number[];
  readonly baselineMs: number;
  readonly ratio: number;
}

async function benchLabTest(example: string): Promise<LabTestFigure> {
  const runsMs: number[] = [];
  const baselineRunsMs: number[] = [];
  let namespaces = 0;
  let checks = 0;
  let passed = 0;
  let failed = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const p = prepare(example);
    const report = await labTest(p, { progress: () => {} });
    runsMs.push(performance.now() - t);
    namespaces = p.topology.hosts.length;
    checks = report.results.length;
    passed = report.passed;
    failed = Math.max(failed, report.failed);
    const b = bareNamespaces(namespaces);
    baselineRunsMs.push(b.addMs + b.delMs);
  }
  const medianMs = median(runsMs);
  const baselineMs = median(baselineRunsMs);
  return {
    example,
    namespaces,
    checks,
    passed,
    failed,
    runsMs,
    medianMs,
    baselineRunsMs,
    baselineMs,
    ratio: medianMs / baselineMs,
  };
}

// 2. lab up of a generated cluster ---------------------------------------------------------------

interface LabUpFigure {
  readonly cluster: typeof GENERATED;
  readonly namespaces: number;
  readonly veths: number;
  readonly servers: number;
  readonly prepareMs: number;
  readonly upMs?: number;
  /** Elapsed time at each progress line of labUp. */
  readonly progress: { readonly ms: number; readonly line: string }[];
  readonly cleanupMs?: number;
  readonly error?: string;
  readonly baselineAddMs: number;
  readonly baselineDelMs: number;
}

async function benchLabUp(): Promise<LabUpFigure> {
  const spec = tempSpec('generated.yaml', generateSpec(GENERATED));
  try {
    const t = performance.now();
    const p = prepare(spec.file);
    const prepareMs = performance.now() - t;
    const namespaces = p.topology.hosts.length;
    const base = bareNamespaces(namespaces);
    const progress: { ms: number; line: string }[] = [];
    const figure = {
      cluster: GENERATED,
      namespaces,
      veths: p.topology.links.length,
      servers: p.servers.size,
      prepareMs,
      progress,
      baselineAddMs: base.addMs,
      baselineDelMs: base.delMs,
    };
    let up: { lab: LabInstance; run: NamespaceRun };
    const u = performance.now();
    try {
      up = await labUp(p, { progress: (line) => progress.push({ ms: performance.now() - u, line }) });
    } catch (err) {
      return { ...figure, error: err instanceof Error ? err.message : String(err) };
    }
    const upMs = performance.now() - u;
    const c = performance.now();
    up.run.cleanup();
    const cleanupMs = performance.now() - c;
    return { ...figure, upMs, cleanupMs };
  } finally {
    spec.remove();
  }
}

// 3. iperf3 through the stateless example -----------------------------------------------------------

type PathKind = 'foreign' | 'local' | 'baseline-foreign' | 'baseline-local';

interface IperfFigure {
  readonly kind: PathKind;
  /** What the workstation dials. */
  readonly address: string;
  /** For a baseline: the node the upstream routes the guest subnet to. */
  readonly via?: string;
  readonly runs: IperfRun[];
  readonly medianGbps: number;
}

async function benchIperf(): Promise<IperfFigure[]> {
  const spec = parse(readFileSync('examples/part4-stateless.yaml', 'utf8')) as { forwards: unknown[] };
  spec.forwards.push({ port: IPERF_PORT, to: 'guest1' });
  const tmp = tempSpec('part4-iperf.yaml', spec);
  try {
    const prepared = prepare(tmp.file);
    // No lab servers: the derived checks would put one on guest1:5201, where iperf3 listens.
    const p: Prepared = { ...prepared, servers: new Map() };
    const guest = p.cluster.guests.find((g) => g.name === 'guest1');
    if (!guest) throw new Error('the stateless example has no guest1');
    const hosting = p.cluster.nodes.find((n) => n.name === guest.node);
    const foreign = p.cluster.nodes.find((n) => n.name !== guest.node);
    const network = p.cluster.networks.find((n) => n.name === guest.network);
    if (!hosting || !foreign || !network) throw new Error('the stateless example needs two nodes');

    const progress = () => {};
    const withRules = await labUp(p, { progress });
    try {
      const noRules = await labUp(p, { progress, loadRulesets: false });
      try {
        await startIperfServer(withRules.lab, guest.name);
        await startIperfServer(noRules.lab, guest.name);
        const subnet = formatPrefix(network.subnet);
        const kinds: { kind: PathKind; lab: LabInstance; address: string; via?: string }[] = [
          { kind: 'foreign', lab: withRules.lab, address: formatIPv4(foreign.address) },
          { kind: 'local', lab: withRules.lab, address: formatIPv4(hosting.address) },
          {
            kind: 'baseline-foreign',
            lab: noRules.lab,
            address: formatIPv4(guest.address),
            via: foreign.name,
          },
          {
            kind: 'baseline-local',
            lab: noRules.lab,
            address: formatIPv4(guest.address),
            via: hosting.name,
          },
        ];
        const runs = new Map<PathKind, IperfRun[]>(kinds.map((k) => [k.kind, []]));
        for (let i = 0; i < IPERF_RUNS; i++) {
          for (const k of kinds) {
            if (k.via) {
              const via = p.cluster.nodes.find((n) => n.name === k.via) as { address: number };
              routeVia(k.lab, subnet, formatIPv4(via.address));
            }
            const run = await iperfRun(k.lab, k.address, IPERF_SECONDS);
            note(`iperf3 ${k.kind} run ${i + 1}: ${run.gbps.toFixed(2)} Gbit/s`);
            runs.get(k.kind)?.push(run);
          }
        }
        return kinds.map((k) => {
          const r = runs.get(k.kind) as IperfRun[];
          return {
            kind: k.kind,
            address: k.address,
            via: k.via,
            runs: r,
            medianGbps: median(r.map((x) => x.gbps)),
          };
        });
      } finally {
        noRules.run.cleanup();
      }
    } finally {
      withRules.run.cleanup();
    }
  } finally {
    tmp.remove();
  }
}

// Main -------------------------------------------------------------------------------------------------

const machine = machineInfo();
const otherNamespaces: number[] = [others()];

note('lab test of the examples');
const labTests: LabTestFigure[] = [];
for (const example of EXAMPLES) labTests.push(await benchLabTest(example));
otherNamespaces.push(others());
note('iperf3 through the stateless example');
const iperf = await benchIperf();
otherNamespaces.push(others());
note(`lab up of a generated ${GENERATED.nodes}-node, ${GENERATED.guests}-guest cluster`);
const up = await benchLabUp();
otherNamespaces.push(others());

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');
if (smoke) out(SMOKE_LINE);
out(machineLine(machine));
warnOthers(otherNamespaces);
out('');
out(
  `lab test (prepare + up + checks + down), median of ${RUNS}; baseline: ip netns add + del of as many bare namespaces`,
);
for (const f of labTests) {
  out(
    `  ${f.example.padEnd(30)} ${s(f.medianMs).padStart(8)}  (${f.runsMs.map((x) => (x / 1000).toFixed(2)).join(', ')})  ` +
      `${f.passed}/${f.checks} passed  ${f.ratio.toFixed(1)}x ${f.namespaces} bare namespaces (${s(f.baselineMs)})  ` +
      `target < 10 s: ${met(f.medianMs < 10_000)}${f.failed > 0 ? `  CHECKS FAILED (${f.failed} in a run)` : ''}`,
  );
}
out('');
const g = up.cluster;
out(
  `lab up, generated ${g.nodes} nodes / ${g.guests} guests / ${g.forwards} forwards (${g.strategy}): ` +
    `${up.namespaces} namespaces, ${up.veths} veth pairs, ${up.servers} lab servers; prepare ${s(up.prepareMs)}`,
);
const bareTotal = up.baselineAddMs + up.baselineDelMs;
if (up.error !== undefined) out(`  lab up FAILED: ${up.error}`);
else {
  const upMs = up.upMs as number;
  const cleanupMs = up.cleanupMs as number;
  out(
    `  up       ${s(upMs).padStart(8)}  ${(upMs / bareTotal).toFixed(1)}x ${up.namespaces} bare namespaces added + deleted (${s(bareTotal)})  target < 60 s: ${met(upMs < 60_000)}`,
  );
  out(
    `  cleanup  ${s(cleanupMs).padStart(8)}  ${(cleanupMs / up.baselineDelMs).toFixed(1)}x ${up.namespaces} bare namespaces deleted (${s(up.baselineDelMs)})`,
  );
  // Where the time goes: the steps between progress lines, the nodes' loads summed up.
  let last = 0;
  let nodes = { count: 0, ms: 0, example: '' };
  const flushNodes = () => {
    if (nodes.count > 0)
      out(`    +${s(nodes.ms).padStart(8)}  ${nodes.count} nodes loaded (${nodes.example})`);
    nodes = { count: 0, ms: 0, example: '' };
  };
  for (const { ms, line } of up.progress) {
    const loaded = /^\S+: (applied .*)$/.exec(line);
    if (loaded) nodes = { count: nodes.count + 1, ms: nodes.ms + ms - last, example: loaded[1] as string };
    else {
      flushNodes();
      out(`    +${s(ms - last).padStart(8)}  ${line.replace(/^lab cvg-[0-9a-f-]+: /, '')}`);
    }
    last = ms;
  }
  flushNodes();
}
out('');
out(
  `iperf3 -t ${IPERF_SECONDS} -O ${IPERF_OMIT}, workstation -> guest1 (stateless example + forward tcp/${IPERF_PORT}), median of ${IPERF_RUNS}, interleaved`,
);
const ratios = (['foreign', 'local'] as const).map((kind) => {
  const f = iperf.find((x) => x.kind === kind) as IperfFigure;
  const b = iperf.find((x) => x.kind === `baseline-${kind}`) as IperfFigure;
  // Also the median of the ratios of each interleaved round: less sensitive to a slow round.
  const paired = median(f.runs.map((r, i) => r.gbps / (b.runs[i] as IperfRun).gbps));
  return { kind, ratio: f.medianGbps / b.medianGbps, paired };
});
for (const f of iperf) {
  const paths = [...new Set(f.runs.map((r) => `enters ${r.enters ?? '?'}, leaves ${r.leaves ?? '?'}`))];
  const what = f.via ? `${f.address} routed via ${f.via}, no rulesets` : `${f.address}:${IPERF_PORT}`;
  out(
    `  ${f.kind.padEnd(17)} ${f.medianGbps.toFixed(2).padStart(6)} Gbit/s  (${f.runs.map((r) => r.gbps.toFixed(2)).join(', ')})  ${what}`,
  );
  out(`  ${''.padEnd(17)} ${paths.join('; ')}; retransmits ${f.runs.map((r) => r.retransmits).join(', ')}`);
}
for (const r of ratios)
  out(
    `  ${r.kind}/baseline-${r.kind}`.padEnd(28) +
      `${r.paired.toFixed(3)}  median of the per-round ratios (ratio of the medians ${r.ratio.toFixed(3)})  target >= 0.9: ${met(r.paired >= 0.9)}`,
  );
if (json)
  console.log(
    JSON.stringify({ machine, otherNamespaces, labTests, labUp: up, iperf, iperfRatios: ratios }, null, 2),
  );
