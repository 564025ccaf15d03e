// The gateway strategies' dataplane at cluster scale (issue 19): each strategy's lab with its 10
// forwards loaded against the same lab with 50,000 forwards and 10,000 guests loaded, in the same run.
// As root.
//   labs      small: the strategy's example (part3-fullnat, part4-stateless, part3-ctsync) with the
//             bench's 10 forwards to guest1 instead of the example's (tcp/7000-7007 banner, tcp/7100
//             echo, udp/9000 sink; the checks go with them), its guest subnet widened to 10.5.0.0/16;
//             large: the same lab (the same namespaces: two nodes, two guests), each node loaded by
//             apply's engine with the plan of the same spec plus 9,998 synthetic guests (addresses
//             from 10.5.16.1, no namespaces) and 49,990 synthetic forwards on every node (3/4 TCP,
//             public ports 10000 up per protocol, 4/5 with a guest port of their own). Both labs are up
//             together; the plans differ in their rulesets alone (the bench checks it).
//   paths     foreign: workstation -> node2 -> guest1 on node1; local: workstation -> node1 -> guest1
//   conn/s    connrate.py in the workstation: CONN_CLIENTS at a time for CONN_SECONDS, each connect to
//             the node's tcp/7000-7007, read guest1's banner, close
//   trans/s   rrate.py: RR_CLIENTS connections to tcp/7100 opened first, then each sends 64 bytes and
//             waits for the 64 back, again and again, for RR_SECONDS (netperf's TCP_RR)
//   udp pps   UDP_SENDERS udpflood.py raw processes in the workstation, each one 64-byte frame to the
//             node's udp/9000 from its own port, for UDP_SECONDS; counted where guest1's eth0 received
//   load      each node's large nftables.conf (and the small one) loaded with nft -f in a fresh
//             namespace, ROUNDS times: wall time and nft's peak RSS (getrusage in a python3 wrapper)
// Rounds run every measurement on both labs, who goes first alternating; figures are medians, ratios
// the median of the per-round ratios large/small. Targets (printed, not asserted): every ratio >= 0.9.
// Run: npm run bench:scale [-- --json]   (ROUNDS, FORWARDS, GUESTS, CONN_CLIENTS, CONN_SECONDS,
// RR_CLIENTS, RR_SECONDS, UDP_SENDERS, UDP_SECONDS override; --smoke: one short round, 200 forwards
// and 40 guests)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FILES } from '../src/host/files.ts';
import type { HostPlan } from '../src/host/plan.ts';
import { PYTHON } from '../src/lab/agent.ts';
import { compileCluster } from '../src/systems/cluster/compile/index.ts';
import type { LabInstance } from '../src/systems/cluster/lab/build.ts';
import { labUp, type Prepared, prepare } from '../src/systems/cluster/lab/lab.ts';
import { nodeIO } from '../src/systems/cluster/lab/nodes.ts';
import { readCluster } from '../src/systems/cluster/system.ts';
import { formatIPv4 } from '../src/util/ipv4.ts';
import { type LoadRun, loadFresh, mapElements } from './scale-load.ts';
import { GUEST, largeSpec, type Makeup, OWN_FORWARDS, smallSpec } from './scale-spec.ts';
import { connRun, type Load, type Run, rrRun, startServers, udpRun } from './scale-traffic.ts';
import { SMOKE_LINE, setting, smoke } from './smoke.ts';
import { json, median, note, otherNamespaces, out, sh, tempSpec, warnOthers } from './support.ts';

const ROUNDS = setting('ROUNDS', 3, 1);
const FORWARDS = setting('FORWARDS', 50_000, 200);
const GUESTS = setting('GUESTS', 10_000, 40);
const LOAD: Load = {
  connClients: setting('CONN_CLIENTS', 16, 2),
  connSeconds: setting('CONN_SECONDS', 5, 0.5),
  rrClients: setting('RR_CLIENTS', 16, 2),
  rrSeconds: setting('RR_SECONDS', 5, 0.5),
  udpSenders: setting('UDP_SENDERS', 2, 1),
  udpSeconds: setting('UDP_SECONDS', 3, 0.5),
};
const TARGET = 0.9;
const STRATEGIES = [
  { strategy: 'fullnat', example: 'examples/part3-fullnat.yaml' },
  { strategy: 'stateless', example: 'examples/part4-stateless.yaml' },
  { strategy: 'ctsync', example: 'examples/part3-ctsync.yaml' },
] as const;
const MEASURES = [
  { key: 'conn', label: 'conn/s', run: connRun },
  { key: 'rr', label: 'trans/s', run: rrRun },
  { key: 'udp', label: 'udp pps', run: udpRun },
] as const;
const PATHS = ['foreign', 'local'] as const;
const SIZES = ['small', 'large'] as const;
type Path = (typeof PATHS)[number];
type MeasureKey = (typeof MEASURES)[number]['key'];
type Size = (typeof SIZES)[number];

interface Cell {
  readonly small: Run[];
  readonly large: Run[];
}

interface NodeLoad {
  readonly node: string;
  readonly small: LoadRun[];
  readonly large: LoadRun[];
}

interface StrategyFigure {
  readonly strategy: string;
  readonly example: string;
  readonly foreign: { readonly node: string; readonly address: string };
  readonly local: { readonly node: string; readonly address: string };
  readonly makeup: Makeup;
  /** Elements of the strategy's forwards map on each node, as the kernel holds them. */
  readonly elements: { readonly node: string; readonly small: number; readonly large: number }[];
  readonly compileMs: number;
  readonly upSeconds: { readonly small: number; readonly large: number };
  readonly load: NodeLoad[];
  readonly cells: Record<Path, Record<MeasureKey, Cell>>;
}

const count = (n: number) => n.toLocaleString('en');
const seconds = (since: number) => (performance.now() - since) / 1000;
const ratioOf = (c: Cell) => median(c.large.map((r, i) => r.perSecond / (c.small[i] as Run).perSecond));
const emptyCells = () =>
  Object.fromEntries(
    PATHS.map((p) => [p, Object.fromEntries(MEASURES.map((m) => [m.key, { small: [], large: [] }]))]),
  ) as unknown as Record<Path, Record<MeasureKey, Cell>>;

/** The large spec's plans: apart from their rulesets, each must be the small one's. */
function largePlans(file: string, small: readonly HostPlan[]): { plans: HostPlan[]; ms: number } {
  const t = performance.now();
  const cluster = readCluster(file);
  const plans = compileCluster(cluster);
  const ms = performance.now() - t;
  if (cluster.forwards.length !== FORWARDS || cluster.guests.length !== GUESTS)
    throw new Error(
      `the large spec has ${cluster.forwards.length} forwards and ${cluster.guests.length} guests`,
    );
  plans.forEach((plan, i) => {
    const a = JSON.stringify({ ...plan, ruleset: null });
    const b = JSON.stringify({ ...small[i], ruleset: null });
    if (a !== b)
      throw new Error(`${plan.node}: the large plan differs from the small one beyond its ruleset`);
  });
  return { plans, ms };
}

/** One round: every path and measure on both labs, `order` first. */
async function round(
  s: string,
  i: number,
  labs: Record<Size, LabInstance>,
  addresses: Record<Path, string>,
  cells: Record<Path, Record<MeasureKey, Cell>>,
): Promise<void> {
  const order: readonly Size[] = i % 2 === 0 ? ['small', 'large'] : ['large', 'small'];
  for (const path of PATHS)
    for (const m of MEASURES)
      for (const size of order) {
        const r = await m.run(labs[size], addresses[path], LOAD);
        if (!(r.perSecond > 0))
          throw new Error(`${s} ${size} ${path} ${m.label}: nothing came through (${JSON.stringify(r)})`);
        cells[path][m.key][size].push(r);
        note(
          `${s} round ${i + 1} ${path} ${m.label} ${size}: ${r.perSecond.toFixed(1)} (enters ${r.enters ?? '?'}, failed ${r.failures})`,
        );
      }
}

async function benchStrategy(s: (typeof STRATEGIES)[number]): Promise<StrategyFigure> {
  const small = tempSpec(`${s.strategy}-small.yaml`, smallSpec(s.example));
  const { spec, makeup } = largeSpec(s.example, { guests: GUESTS, forwards: FORWARDS });
  const large = tempSpec(`${s.strategy}-large.yaml`, spec);
  try {
    // No lab servers: the bench starts its own on guest1 (the checks are not run).
    const p: Prepared = { ...prepare(small.file), servers: new Map() };
    const big = largePlans(large.file, p.plans);
    const guest = p.cluster.guests.find((g) => g.name === GUEST);
    const hosting = p.cluster.nodes.find((n) => n.name === guest?.node);
    const foreign = p.cluster.nodes.find((n) => n.name !== guest?.node);
    if (!hosting || !foreign) throw new Error(`${s.example} needs ${GUEST} and two nodes`);
    const progress = () => {};
    let t = performance.now();
    const a = await labUp(p, { progress });
    const upSmall = seconds(t);
    a.run.atCleanup(small.remove); // also on a signal, which skips the finally below
    a.run.atCleanup(large.remove);
    try {
      t = performance.now();
      const b = await labUp({ ...p, plans: big.plans }, { progress });
      const upLarge = seconds(t);
      try {
        const labs = { small: a.lab, large: b.lab };
        note(`${s.strategy}: labs up (${upSmall.toFixed(1)} s, ${upLarge.toFixed(1)} s)`);
        const map = `${s.strategy}_forwards`;
        const elements = p.cluster.nodes.map((n) => ({
          node: n.name,
          small: mapElements(nodeIO(a.lab, n.name).run, map),
          large: mapElements(nodeIO(b.lab, n.name).run, map),
        }));
        for (const e of elements)
          if (e.small !== OWN_FORWARDS || e.large !== FORWARDS)
            throw new Error(`${e.node}: ${map} holds ${e.small} and ${e.large} elements`);
        const load: NodeLoad[] = p.cluster.nodes.map((n) => ({ node: n.name, small: [], large: [] }));
        for (let i = 0; i < ROUNDS; i++)
          for (const l of load)
            for (const size of SIZES)
              l[size].push(loadFresh(join(labs[size].dir, 'nodes', l.node, FILES.nftables)));
        for (const lab of [a.lab, b.lab]) await startServers(lab);
        const addresses = { foreign: formatIPv4(foreign.address), local: formatIPv4(hosting.address) };
        const cells = emptyCells();
        for (let i = 0; i < ROUNDS; i++) await round(s.strategy, i, labs, addresses, cells);
        return {
          strategy: s.strategy,
          example: s.example,
          foreign: { node: foreign.name, address: addresses.foreign },
          local: { node: hosting.name, address: addresses.local },
          makeup,
          elements,
          compileMs: big.ms,
          upSeconds: { small: upSmall, large: upLarge },
          load,
          cells,
        };
      } finally {
        b.run.cleanup();
      }
    } finally {
      a.run.cleanup();
    }
  } finally {
    small.remove();
    large.remove();
  }
}

// Output -----------------------------------------------------------------------------------------------

const f1 = (x: number) => x.toFixed(1);
const f3 = (x: number) => x.toFixed(3);
const met = (r: number) => (r >= TARGET ? 'met' : 'NOT MET');

function printFigure(f: StrategyFigure): void {
  for (const path of PATHS) {
    for (const m of MEASURES) {
      const c = f.cells[path][m.key];
      const r = ratioOf(c);
      out(
        `  ${f.strategy.padEnd(10)} ${path.padEnd(8)} ${m.label.padEnd(8)} ${f1(median(c.small.map((x) => x.perSecond))).padStart(10)} ` +
          `${f1(median(c.large.map((x) => x.perSecond))).padStart(10)} ${f3(r).padStart(6)}  ${met(r)}`,
      );
    }
  }
}

function printLoad(f: StrategyFigure): void {
  for (const l of f.load) {
    const ms = (runs: LoadRun[]) => median(runs.map((r) => r.ms));
    const mb = (runs: LoadRun[]) => median(runs.map((r) => r.rssMb));
    out(
      `  ${f.strategy.padEnd(10)} ${l.node.padEnd(6)} ${count(FORWARDS)} forwards: nft -f ${f1(ms(l.large))} ms, peak RSS ${f1(mb(l.large))} MB` +
        `   (${OWN_FORWARDS}: ${f1(ms(l.small))} ms, ${f1(mb(l.small))} MB)`,
    );
  }
}

function printDetails(f: StrategyFigure): void {
  const e = f.elements.map((x) => `${x.node} ${count(x.small)} / ${count(x.large)}`).join(', ');
  out(
    `  ${f.strategy}: ${f.strategy}_forwards elements (small / large) ${e}; large spec read + compiled in ${f1(f.compileMs / 1000)} s; labs up in ${f1(f.upSeconds.small)} s / ${f1(f.upSeconds.large)} s`,
  );
  for (const path of PATHS)
    for (const m of MEASURES)
      for (const size of SIZES) {
        const runs = f.cells[path][m.key][size];
        const lat = m.key === 'conn' ? ' ms' : m.key === 'rr' ? ' µs' : '';
        const where = [
          ...new Set(runs.map((r) => `enters ${r.enters ?? '?'}${r.leaves ? `, leaves ${r.leaves}` : ''}`)),
        ];
        const extra =
          m.key === 'udp'
            ? `sent/s ${runs.map((r) => f1(r.sentPerSecond ?? 0)).join(', ')}`
            : `median latency ${runs.map((r) => `${f1(r.latency ?? Number.NaN)}${lat}`).join(', ')}; failed ${runs.reduce((n, r) => n + r.failures, 0)}`;
        out(
          `    ${path} ${m.label} ${size}: ${runs.map((r) => f1(r.perSecond)).join(', ')}; ${extra}; ${where.join('; ')}`,
        );
      }
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** The machine, with the tools this bench runs (support.ts's machineInfo asks iperf3, which it does not need). */
function machineInfo() {
  return {
    cpus: Number(sh(['nproc'])),
    kernel: sh(['uname', '-r']),
    node: process.version,
    nft: sh(['nft', '--version']),
    python: sh([PYTHON, '--version']),
    loadavg: loadavg(),
  };
}

const started = performance.now();
const machine = machineInfo();
const others: number[] = [otherNamespaces()];
const figures: StrategyFigure[] = [];
for (const s of STRATEGIES) {
  note(`${s.strategy} (${s.example}): ${OWN_FORWARDS} against ${count(FORWARDS)} forwards`);
  figures.push(await benchStrategy(s));
  others.push(otherNamespaces());
}
const total = seconds(started);
const loadEnd = loadavg();

if (smoke) out(SMOKE_LINE);
out(
  `machine: ${machine.cpus} CPUs, kernel ${machine.kernel}, node ${machine.node}, ${machine.nft}, ${machine.python}, load ${machine.loadavg} at the start, ${loadEnd} at the end`,
);
warnOthers(others);
const [first] = figures;
const mk = first?.makeup;
out('');
out(
  `${OWN_FORWARDS} forwards (2 guests) against ${count(FORWARDS)} forwards (${count(GUESTS)} guests) loaded, in the same run; median of ${ROUNDS} rounds (${total.toFixed(0)} s in all)`,
);
if (mk)
  out(
    `  the ${count(FORWARDS)}: the bench's ${OWN_FORWARDS} to ${GUEST} + ${count(FORWARDS - OWN_FORWARDS)} synthetic on every node: ${count(mk.tcp)} tcp (ports ${mk.tcpPorts}), ${count(mk.udp)} udp (ports ${mk.udpPorts}), ${count(mk.translated)} with a guest port of their own, round-robin over ${count(mk.syntheticGuests)} synthetic guests (no namespaces: elements only)`,
  );
out(
  `  foreign: workstation -> ${first?.foreign.node} -> ${GUEST} on ${first?.local.node}; local: workstation -> ${first?.local.node} -> ${GUEST}`,
);
out(
  `  conn/s: connrate.py, ${LOAD.connClients} clients for ${LOAD.connSeconds} s; trans/s: rrate.py, ${LOAD.rrClients} held connections for ${LOAD.rrSeconds} s, 64 bytes each way; udp pps: ${LOAD.udpSenders} x udpflood.py raw for ${LOAD.udpSeconds} s, 64-byte frames received by ${GUEST}`,
);
out(`  ratio: median of the per-round ratios ${count(FORWARDS)}/${OWN_FORWARDS}; target >= ${TARGET}`);
out('');
out(
  `  ${'strategy'.padEnd(10)} ${'path'.padEnd(8)} ${'measure'.padEnd(8)} ${`${OWN_FORWARDS} fwd`.padStart(10)} ${`${count(FORWARDS)} fwd`.padStart(10)} ${'ratio'.padStart(6)}  target`,
);
for (const f of figures) printFigure(f);
out('');
out(
  `ruleset load: nft -f of a node's nftables.conf in a fresh namespace, median of ${ROUNDS}; peak RSS from getrusage(RUSAGE_CHILDREN) in a python3 wrapper`,
);
for (const f of figures) printLoad(f);
out('');
for (const f of figures) printDetails(f);
if (json)
  console.log(
    JSON.stringify(
      { machine, loadEnd, otherNamespaces: others, seconds: total, load: LOAD, strategies: figures },
      null,
      2,
    ),
  );
