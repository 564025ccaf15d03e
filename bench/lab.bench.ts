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
// with --json, the JSON to stdout; RUNS, IPERF_RUNS and IPERF_SECONDS override 3, 15 and 3)
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import type { LabInstance } from '../src/lab/build.ts';
import { labTest, labUp, type Prepared, prepare } from '../src/lab/lab.ts';
import { type NamespaceRun, NETNS_PREFIX } from '../src/lab/netns.ts';
import { realRunner, runChecked } from '../src/lab/run.ts';
import { UPSTREAM, WORKSTATION } from '../src/lab/topology.ts';
import { formatIPv4, formatPrefix } from '../src/util/ipv4.ts';
import { generateSpec } from '../test/support/generate.ts';

const RUNS = Number(process.env.RUNS ?? 3);
const IPERF = '/usr/bin/iperf3';
const IPERF_PORT = 5201;
const IPERF_SECONDS = Number(process.env.IPERF_SECONDS ?? 3);
// On a small VM one iperf3 run varies by +-15%: many short rounds, each pairing a measurement with
// its baseline back to back, give a steadier ratio than a few long ones.
const IPERF_RUNS = Number(process.env.IPERF_RUNS ?? 15);
const EXAMPLES = ['examples/part4-stateless.yaml', 'examples/part3-fullnat.yaml'];
const GENERATED = { nodes: 20, guests: 200, forwards: 200, strategy: 'mixed' } as const;

const json = process.argv.includes('--json');
// With --json, stdout carries the JSON alone; the table and progress go to stderr.
const out = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const note = (line: string) => process.stderr.write(`  ${line}\n`);

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return (s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2) as number;
};
const sh = (argv: readonly string[]) => runChecked(realRunner, argv).trim();

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

function tempSpec(name: string, spec: unknown): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'convergent-bench-'));
  const file = join(dir, name);
  writeFileSync(file, stringify(spec));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
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

interface IperfRun {
  readonly gbps: number;
  readonly retransmits: number;
  readonly enters?: string;
  readonly leaves?: string;
}

interface IperfFigure {
  readonly kind: PathKind;
  /** What the workstation dials. */
  readonly address: string;
  /** For a baseline: the node the upstream routes the guest subnet to. */
  readonly via?: string;
  readonly runs: IperfRun[];
  readonly medianGbps: number;
}

/** Starts iperf3 -s in guest1's namespace, tracked by the lab, and waits until it listens. */
async function startIperfServer(lab: LabInstance, guest: string): Promise<void> {
  const ns = lab.ns(guest);
  const child = spawn('ip', ['netns', 'exec', ns, IPERF, '-s', '-p', String(IPERF_PORT)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start iperf3 in ${ns}`);
  lab.track(child.pid); // `ip netns exec` execs iperf3: the same PID, killed by run.cleanup()
  let stderr = '';
  let exited: number | null | undefined;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.on('exit', (code) => {
    exited = code;
  });
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`iperf3 -s in ${ns} exited (${exited}): ${stderr.trim()}`);
    const listening = realRunner(['ip', 'netns', 'exec', ns, 'ss', '-Hltn', `sport = :${IPERF_PORT}`]);
    if (listening.stdout.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`iperf3 -s in ${ns} did not listen on ${IPERF_PORT} within 10 s`);
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
}

/** Bytes each node's port on the upstream's uplink bridge received and sent so far. */
function uplinkBytes(lab: LabInstance): Map<string, { rx: number; tx: number }> {
  const links = JSON.parse(sh(['ip', '-n', lab.ns(UPSTREAM), '-s', '-j', 'link', 'show'])) as {
    ifname: string;
    stats64?: { rx: { bytes: number }; tx: { bytes: number } };
  }[];
  const bytes = new Map<string, { rx: number; tx: number }>();
  for (const [node, port] of lab.topology.upstream.portOf) {
    const s = links.find((l) => l.ifname === port)?.stats64;
    if (s) bytes.set(node, { rx: s.rx.bytes, tx: s.tx.bytes });
  }
  return bytes;
}

/** The node whose counter grew most, if it grew by at least `least` bytes. */
function busiest(deltas: [string, number][], least: number): string | undefined {
  const [top] = [...deltas].sort((a, b) => b[1] - a[1]);
  return top && top[1] >= least ? top[0] : undefined;
}

/**
 * One iperf3 run from the workstation. Which node the flow entered and left the cluster through
 * comes from the upstream's port counters: the data goes out toward one node, the ACKs come back
 * from one (the other ports carry only ARP and the like).
 */
function iperfRun(lab: LabInstance, address: string): IperfRun {
  const before = uplinkBytes(lab);
  const r: SpawnSyncReturns<string> = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      lab.ns(WORKSTATION),
      IPERF,
      '-c',
      address,
      '-p',
      String(IPERF_PORT),
      '-t',
      String(IPERF_SECONDS),
      '-O',
      '1', // leave slow start out
      '-J',
    ],
    { encoding: 'utf8', timeout: (IPERF_SECONDS + 20) * 1000 },
  );
  let doc: IperfJson;
  try {
    doc = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 -c ${address} exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  const bps = doc.end?.sum_received?.bits_per_second;
  if (doc.error || bps === undefined) throw new Error(`iperf3 -c ${address}: ${doc.error ?? 'no result'}`);
  const after = uplinkBytes(lab);
  const delta = (dir: 'rx' | 'tx') =>
    [...after].map(([node, a]): [string, number] => [node, a[dir] - (before.get(node)?.[dir] ?? a[dir])]);
  return {
    gbps: bps / 1e9,
    retransmits: doc.end?.sum_sent?.retransmits ?? 0,
    enters: busiest(delta('tx'), 1e8),
    leaves: busiest(delta('rx'), 1e5),
  };
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
              // Only inside the lab's upstream namespace.
              sh([
                'ip',
                '-n',
                k.lab.ns(UPSTREAM),
                'route',
                'replace',
                subnet,
                'via',
                formatIPv4(via.address),
              ]);
            }
            const run = iperfRun(k.lab, k.address);
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

const machine = {
  cpus: Number(sh(['nproc'])),
  kernel: sh(['uname', '-r']),
  node: process.version,
  iperf3: (sh([IPERF, '--version']).split('\n')[0] ?? '').trim(),
  loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
};
// Namespaces of other convergent runs (a test suite, a `lab up`): they share the CPUs with this run.
const others = () =>
  realRunner(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .filter((l) => l.startsWith(NETNS_PREFIX) && !l.startsWith(`${NETNS_PREFIX}${process.pid}-`)).length;
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
out(
  `machine: ${machine.cpus} CPUs, kernel ${machine.kernel}, node ${machine.node}, ${machine.iperf3}, load ${machine.loadavg}`,
);
if (otherNamespaces.some((n) => n > 0))
  out(
    `WARNING: other convergent runs had namespaces during this one (${otherNamespaces.join(', ')} at start, after each part): figures disturbed`,
  );
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
    const loaded = /^\S+: (loaded .*)$/.exec(line);
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
  `iperf3 -t ${IPERF_SECONDS} -O 1, workstation -> guest1 (stateless example + forward tcp/${IPERF_PORT}), median of ${IPERF_RUNS}, interleaved`,
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
