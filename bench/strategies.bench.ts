import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { PYTHON } from '../src/lab/agent.ts';
import type { LabInstance } from '../src/systems/cluster/lab/build.ts';
import { labUp, type Prepared, prepare } from '../src/systems/cluster/lab/lab.ts';
import { WORKSTATION } from '../src/systems/cluster/lab/topology.ts';
import { formatIPv4, formatPrefix } from '../src/util/ipv4.ts';
import { IPERF_OMIT, SMOKE_LINE, setting, smoke } from './smoke.ts';
import {
  CONNRATE,
  IPERF_PORT,
  type IperfRun,
  iperfRun,
  json,
  labClient,
  machineInfo,
  machineLine,
  median,
  note,
  otherNamespaces,
  out,
  routeVia,
  sh,
  startBanner,
  startIperfServer,
  tempSpec,
  throughNodes,
  warnOthers,
} from './support.ts';

// --smoke: one round of 2 clients for 0.5 s and iperf3 for 1 s, every strategy still (each its own lab).
const ROUNDS = setting('ROUNDS', 3, 1);
const CONN_CLIENTS = setting('CONN_CLIENTS', 16, 2);
const CONN_SECONDS = setting('CONN_SECONDS', 5, 0.5);
const IPERF_SECONDS = setting('IPERF_SECONDS', 3, 1);
const CONN_PORT = 7000;
/** Forwards tcp/7000-7007: each destination port has client ports of its own (see connrate.py). */
const CONN_PORTS = 8;
const GUEST = 'guest1';
const STRATEGIES = [
  { strategy: 'fullnat', example: 'examples/part3-fullnat.yaml' },
  { strategy: 'stateless', example: 'examples/part4-stateless.yaml' },
  { strategy: 'ctsync', example: 'examples/part3-ctsync.yaml' },
] as const;

interface ConnRun {
  readonly connections: number;
  readonly perSecond: number;
  readonly medianMs: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  readonly failures: number;
  readonly errors: Record<string, number>;
  readonly seconds: number;
  readonly enters?: string;
  readonly leaves?: string;
}

interface Side {
  /** What the workstation dials. */
  readonly address: string;
  readonly conn: ConnRun[];
  readonly iperf: IperfRun[];
  readonly perSecond: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly gbps: number;
}

interface StrategyFigure {
  readonly strategy: string;
  readonly example: string;
  readonly enters: string;
  readonly hosting: string;
  readonly measured: Side;
  readonly baseline: Side;
  /** Medians of the per-round ratios (each measurement against its baseline taken beside it). */
  readonly connRatio: number;
  readonly gbpsRatio: number;
}

/** One connection-rate run from the workstation; the answers of ~80 ctsync connections move ~25 kB. */
function connRun(lab: LabInstance, address: string): Promise<ConnRun> {
  return throughNodes(lab, { enters: 1e4, leaves: 1e4 }, async () => {
    const args = [address, CONN_PORT, CONN_CLIENTS, CONN_SECONDS, CONN_PORTS].map(String);
    const r = await labClient(lab, WORKSTATION, [PYTHON, CONNRATE, ...args], (CONN_SECONDS + 30) * 1000);
    try {
      const doc = JSON.parse(r.stdout) as {
        connections: number;
        per_second: number;
        median_ms: number | null;
        p90_ms: number | null;
        p99_ms: number | null;
        failures: number;
        errors: Record<string, number>;
        seconds: number;
      };
      return {
        connections: doc.connections,
        perSecond: doc.per_second,
        medianMs: doc.median_ms,
        p90Ms: doc.p90_ms,
        p99Ms: doc.p99_ms,
        failures: doc.failures,
        errors: doc.errors,
        seconds: doc.seconds,
      };
    } catch {
      throw new Error(`connrate.py ${address} exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
  });
}

function side(address: string, conn: ConnRun[], iperf: IperfRun[]): Side {
  const ms = (k: 'medianMs' | 'p90Ms' | 'p99Ms') => median(conn.map((c) => c[k] ?? Number.NaN));
  return {
    address,
    conn,
    iperf,
    perSecond: median(conn.map((c) => c.perSecond)),
    medianMs: ms('medianMs'),
    p90Ms: ms('p90Ms'),
    p99Ms: ms('p99Ms'),
    gbps: median(iperf.map((x) => x.gbps)),
  };
}

async function benchStrategy(s: (typeof STRATEGIES)[number]): Promise<StrategyFigure> {
  const spec = parse(readFileSync(s.example, 'utf8')) as { forwards: unknown[] };
  spec.forwards.push({ port: IPERF_PORT, to: GUEST });
  for (let i = 0; i < CONN_PORTS; i++) spec.forwards.push({ port: CONN_PORT + i, to: GUEST });
  const tmp = tempSpec(`${s.strategy}-bench.yaml`, spec);
  try {
    const prepared = prepare(tmp.file);
    // No lab servers: the bench starts its own on guest1 (the checks are not run).
    const p: Prepared = { ...prepared, servers: new Map() };
    const guest = p.cluster.guests.find((g) => g.name === GUEST);
    const foreign = p.cluster.nodes.find((n) => n.name !== guest?.node);
    const network = p.cluster.networks.find((n) => n.name === guest?.network);
    if (!guest || !foreign || !network) throw new Error(`${s.example} needs ${GUEST} and two nodes`);

    const progress = () => {};
    const withRules = await labUp(p, { progress });
    withRules.run.atCleanup(tmp.remove); // also on a signal, which skips the finally below
    try {
      const noRules = await labUp(p, { progress, loadRulesets: false });
      try {
        routeVia(noRules.lab, formatPrefix(network.subnet), formatIPv4(foreign.address));
        for (const lab of [withRules.lab, noRules.lab]) {
          await startIperfServer(lab, GUEST);
          await startBanner(lab, GUEST, CONN_PORT, CONN_PORTS);
          // 64k client ports instead of 28k, in the lab's workstation only (see connrate.py).
          const range = 'net.ipv4.ip_local_port_range=1024 65535';
          sh(['ip', 'netns', 'exec', lab.ns(WORKSTATION), 'sysctl', '-q', '-w', range]);
        }
        const kinds = [
          { name: s.strategy, lab: withRules.lab, address: formatIPv4(foreign.address) },
          { name: 'baseline', lab: noRules.lab, address: formatIPv4(guest.address) },
        ];
        const conn = kinds.map((): ConnRun[] => []);
        const iperf = kinds.map((): IperfRun[] => []);
        for (let i = 0; i < ROUNDS; i++) {
          // Who goes first alternates, so that a drift of the machine does not favour one side.
          const order = i % 2 === 0 ? [0, 1] : [1, 0];
          for (const k of order) {
            const { name, lab, address } = kinds[k] as (typeof kinds)[number];
            const c = await connRun(lab, address);
            note(
              `${s.strategy} round ${i + 1} ${name}: ${c.perSecond} conn/s, median ${c.medianMs} ms, p90 ${c.p90Ms} ms, p99 ${c.p99Ms} ms, ${c.failures} failed`,
            );
            conn[k]?.push(c);
          }
          for (const k of order) {
            const { name, lab, address } = kinds[k] as (typeof kinds)[number];
            const r = await iperfRun(lab, address, IPERF_SECONDS);
            note(`${s.strategy} round ${i + 1} ${name}: ${r.gbps.toFixed(2)} Gbit/s`);
            iperf[k]?.push(r);
          }
        }
        const [mc, bc] = conn as [ConnRun[], ConnRun[]];
        const [mi, bi] = iperf as [IperfRun[], IperfRun[]];
        return {
          strategy: s.strategy,
          example: s.example,
          enters: foreign.name,
          hosting: guest.node,
          measured: side(kinds[0]?.address as string, mc, mi),
          baseline: side(kinds[1]?.address as string, bc, bi),
          connRatio: median(mc.map((c, i) => c.perSecond / (bc[i] as ConnRun).perSecond)),
          gbpsRatio: median(mi.map((r, i) => r.gbps / (bi[i] as IperfRun).gbps)),
        };
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

const started = Date.now();
const machine = machineInfo();
const others: number[] = [otherNamespaces()];
const figures: StrategyFigure[] = [];
for (const s of STRATEGIES) {
  note(`${s.strategy} (${s.example}) and its baseline`);
  figures.push(await benchStrategy(s));
  others.push(otherNamespaces());
}
const seconds = (Date.now() - started) / 1000;

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const paths = (runs: readonly { enters?: string; leaves?: string }[]) =>
  [...new Set(runs.map((r) => `enters ${r.enters ?? '?'}, leaves ${r.leaves ?? '?'}`))].join('; ');
if (smoke) out(SMOKE_LINE);
out(machineLine(machine));
warnOthers(others);
out('');
const [first] = figures;
out(
  `through the foreign node: workstation -> ${first?.enters} -> ${GUEST} on ${first?.hosting}; median of ${ROUNDS} rounds, each strategy interleaved with its baseline (${seconds.toFixed(0)} s in all)`,
);
out(
  `  conn/s: connrate.py, ${CONN_CLIENTS} clients for ${CONN_SECONDS} s, each connect + read the banner + close; latency connect to banner`,
);
out(
  `  iperf3 -t ${IPERF_SECONDS} -O ${IPERF_OMIT}, one stream; ratio: median of the per-round ratios to the baseline`,
);
out('');
out(
  `  ${'strategy'.padEnd(10)} ${'conn/s'.padStart(8)} ${'ratio'.padStart(6)} ${'median'.padStart(9)} ${'p90'.padStart(9)} ${'p99'.padStart(9)} ${'Gbit/s'.padStart(7)} ${'ratio'.padStart(6)}`,
);
const row = (name: string, x: Side, connRatio?: number, gbpsRatio?: number) =>
  `  ${name.padEnd(10)} ${f1(x.perSecond).padStart(8)} ${(connRatio === undefined ? '' : f3(connRatio)).padStart(6)} ` +
  `${`${f1(x.medianMs)} ms`.padStart(9)} ${`${f1(x.p90Ms)} ms`.padStart(9)} ${`${f1(x.p99Ms)} ms`.padStart(9)} ${f2(x.gbps).padStart(7)} ${(gbpsRatio === undefined ? '' : f3(gbpsRatio)).padStart(6)}`;
for (const f of figures) {
  out(row(f.strategy, f.measured, f.connRatio, f.gbpsRatio));
  out(row('  baseline', f.baseline));
}
out('');
// The issue's target for CT-SYNC: new connections through the foreign node at half full-NAT's rate or
// better, as fast as the others at the median and the 99th percentile, none failed.
const byName = new Map(figures.map((f) => [f.strategy, f]));
const [ctsync, fullnat] = [byName.get('ctsync'), byName.get('fullnat')];
if (ctsync && fullnat) {
  const m = ctsync.measured;
  const failed = m.conn.reduce((n, c) => n + c.failures, 0);
  out(
    `ctsync against fullnat, through the foreign node: conn/s ${f3(m.perSecond / fullnat.measured.perSecond)} (target >= 0.5), ` +
      `median ${f1(m.medianMs)} ms (< 10), p99 ${f1(m.p99Ms)} ms (< 50), failed ${failed} (0)`,
  );
  out('');
}
for (const f of figures)
  for (const [name, x] of [
    [f.strategy, f.measured],
    [`${f.strategy} baseline`, f.baseline],
  ] as const) {
    const what = x === f.baseline ? `${x.address} routed via ${f.enters}, no rulesets` : `${x.address}`;
    const failed = x.conn.reduce((n, c) => n + c.failures, 0);
    const errors = [...new Set(x.conn.flatMap((c) => Object.keys(c.errors)))];
    out(`  ${name} (${what})`);
    out(
      `    conn/s ${x.conn.map((c) => f1(c.perSecond)).join(', ')}; connections ${x.conn.map((c) => c.connections).join(', ')}; ` +
        `failed ${failed}${errors.length > 0 ? ` (${errors.join(', ')})` : ''}; ${paths(x.conn)}`,
    );
    out(
      `    Gbit/s ${x.iperf.map((r) => f2(r.gbps)).join(', ')}; retransmits ${x.iperf.map((r) => r.retransmits).join(', ')}; ${paths(x.iperf)}`,
    );
  }
if (json)
  console.log(JSON.stringify({ machine, otherNamespaces: others, seconds, strategies: figures }, null, 2));
