// Seed 004: what inserting a firewall appliance into a tenant router's path costs. The same lab
// twice, side by side: examples/seed004-insert.yaml as it is (every packet to and from the uplink
// passes fw1, so each crosses the router twice) and the same spec without `insert:` (the direct
// path). The workstation dials vm1's floating IP in both: new connections per second (connect, read
// a banner, close) and one iperf3 stream, interleaved round by round; the figure is the ratio.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { readCounters } from '../src/systems/cluster/lab/appliance.ts';
import type { LabInstance } from '../src/systems/cluster/lab/build.ts';
import { labUp, type Prepared, prepare } from '../src/systems/cluster/lab/lab.ts';
import { WORKSTATION } from '../src/systems/cluster/lab/topology.ts';
import { formatIPv4 } from '../src/util/ipv4.ts';
import { widenClientPorts } from './ports-lab.ts';
import { IPERF_OMIT, SMOKE_LINE, setting, smoke } from './smoke.ts';
import {
  type ConnRun,
  connRun,
  type IperfRun,
  iperfRun,
  json,
  machineInfo,
  machineLine,
  median,
  note,
  otherNamespaces,
  out,
  startBanner,
  startIperfServer,
  tempSpec,
  warnOthers,
} from './support.ts';

const ROUNDS = setting('ROUNDS', 5, 1);
const CONN_CLIENTS = setting('CONN_CLIENTS', 16, 2);
const CONN_SECONDS = setting('CONN_SECONDS', 5, 0.5);
const IPERF_SECONDS = setting('IPERF_SECONDS', 3, 1);
const CONN_PORT = 7000;
const CONN_PORTS = 8;
const EXAMPLE = 'examples/seed004-insert.yaml';
const GUEST = 'vm1';

interface Spec {
  networks: Record<string, { insert?: string }>;
  guests: Record<string, { floating?: string }>;
  checks?: unknown;
}

interface Path {
  readonly name: string;
  readonly lab: LabInstance;
  /** Packets the appliance forwarded during the run, both directions. */
  passed: number;
  readonly conn: ConnRun[];
  readonly iperf: IperfRun[];
}

/** The example's spec, with or without its appliance; no checks (the bench runs its own traffic). */
function variant(insert: boolean): { file: string; remove: () => void } {
  const spec = parse(readFileSync(EXAMPLE, 'utf8')) as Spec;
  delete spec.checks;
  if (!insert) for (const net of Object.values(spec.networks)) delete net.insert;
  return tempSpec(`seed004-${insert ? 'insert' : 'direct'}-bench.yaml`, spec);
}

async function up(file: string) {
  const p: Prepared = { ...prepare(file), servers: new Map() };
  const lab = await labUp(p, { progress: () => {} });
  await startIperfServer(lab.lab, GUEST);
  await startBanner(lab.lab, GUEST, CONN_PORT, CONN_PORTS);
  widenClientPorts(lab.lab.ns(WORKSTATION));
  return { ...lab, cluster: p.cluster };
}

const started = Date.now();
const machine = machineInfo();
const others = [otherNamespaces()];
const files = [variant(true), variant(false)];
const labs: Awaited<ReturnType<typeof up>>[] = [];
let floating = '';
try {
  for (const f of files) {
    const lab = await up(f.file);
    labs.push(lab);
    lab.run.atCleanup(f.remove);
    const fip = lab.cluster.floating.find((x) => x.guest === GUEST);
    if (!fip) throw new Error(`${EXAMPLE}: ${GUEST} has no floating IP`);
    floating = formatIPv4(fip.address);
  }
  const appliance = labs[0]?.cluster.networks.find((n) => n.router?.insert)?.router?.insert?.appliance;
  if (appliance === undefined) throw new Error(`${EXAMPLE} inserts no appliance`);
  const forwarded = (lab: LabInstance) => {
    const c = readCounters(lab, appliance);
    return c.original + c.reply;
  };
  const paths: Path[] = labs.map((l, i) => ({
    name: i === 0 ? `through ${appliance}` : 'direct',
    lab: l.lab,
    passed: -forwarded(l.lab),
    conn: [],
    iperf: [],
  }));
  for (let round = 0; round < ROUNDS; round++) {
    // Who goes first alternates, so that a drift of the machine does not favour one side.
    const order = round % 2 === 0 ? paths : [...paths].reverse();
    for (const p of order) {
      const c = await connRun(
        p.lab,
        WORKSTATION,
        { address: floating, port: CONN_PORT, label: p.name },
        { clients: CONN_CLIENTS, seconds: CONN_SECONDS, ports: CONN_PORTS },
      );
      note(`round ${round + 1} ${p.name}: ${c.perSecond} conn/s, median ${c.medianMs} ms`);
      p.conn.push(c);
    }
    for (const p of order) {
      const r = await iperfRun(p.lab, floating, IPERF_SECONDS);
      note(`round ${round + 1} ${p.name}: ${r.gbps.toFixed(2)} Gbit/s`);
      p.iperf.push(r);
    }
  }
  others.push(otherNamespaces());
  for (const p of paths) p.passed += forwarded(p.lab);
  const [through, direct] = paths as [Path, Path];
  // The figures mean something only if the one path passed the appliance and the other did not.
  if (through.passed === 0 || direct.passed !== 0)
    throw new Error(`${appliance} forwarded ${through.passed} packets through, ${direct.passed} direct`);
  const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] as number)));
  const connRatio = ratio(
    through.conn.map((c) => c.perSecond),
    direct.conn.map((c) => c.perSecond),
  );
  const gbpsRatio = ratio(
    through.iperf.map((r) => r.gbps),
    direct.iperf.map((r) => r.gbps),
  );
  const seconds = (Date.now() - started) / 1000;
  if (smoke) out(SMOKE_LINE);
  out(machineLine(machine));
  warnOthers(others);
  out('');
  out(
    `workstation -> ${floating} (${GUEST}'s floating IP) -> router ${labs[0]?.cluster.networks.find((n) => n.router)?.router?.node}; median of ${ROUNDS} rounds, interleaved (${seconds.toFixed(0)} s in all)`,
  );
  out(
    `  conn/s: connrate.py, ${CONN_CLIENTS} clients for ${CONN_SECONDS} s, each connect + read the banner + close`,
  );
  out(`  iperf3 -t ${IPERF_SECONDS} -O ${IPERF_OMIT}, one stream; ratio: median of the per-round ratios`);
  out('');
  out(`  ${'path'.padEnd(12)} ${'conn/s'.padStart(8)} ${'median'.padStart(9)} ${'Gbit/s'.padStart(7)}`);
  for (const p of paths)
    out(
      `  ${p.name.padEnd(12)} ${median(p.conn.map((c) => c.perSecond))
        .toFixed(1)
        .padStart(8)} ` +
        `${`${median(p.conn.map((c) => c.medianMs)).toFixed(1)} ms`.padStart(9)} ${median(
          p.iperf.map((r) => r.gbps),
        )
          .toFixed(2)
          .padStart(7)}`,
    );
  out('');
  out(`  through/direct: conn/s ${connRatio.toFixed(3)}, Gbit/s ${gbpsRatio.toFixed(3)}`);
  out(
    `  ${appliance} forwarded ${through.passed} packets through, ${direct.passed} direct (its nft counters)`,
  );
  for (const p of paths)
    out(
      `  ${p.name}: conn/s ${p.conn.map((c) => c.perSecond.toFixed(1)).join(', ')}; Gbit/s ${p.iperf.map((r) => r.gbps.toFixed(2)).join(', ')}; retransmits ${p.iperf.map((r) => r.retransmits).join(', ')}`,
    );
  if (json)
    console.log(
      JSON.stringify(
        { machine, seconds, connRatio, gbpsRatio, paths: paths.map(({ lab: _, ...p }) => p) },
        null,
        2,
      ),
    );
} finally {
  for (const l of labs.reverse()) l.run.cleanup();
  for (const f of files) f.remove();
}
