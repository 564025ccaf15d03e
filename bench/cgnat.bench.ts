// CGNAT: what tenants and subscribers cost per packet and to load (issue 6), as root.
//   conn/s   connrate.py (bench/connrate.py): CONN_CLIENTS connections at a time for CONN_SECONDS,
//            each connect + read the banner + close, from one client through the router's NAT
//   Gbit/s   iperf3 -t IPERF_SECONDS -O 1 from the same client through the NAT
// Three labs side by side, each the router (netns backend, its rendered files), its uplink peer and one
// client, 100.64.0.10 in the last tenant:
//   base      1 tenant, subscribers 100.64.0.0/25 (128)
//   tenants   100 tenants, each 100.64.0.0/25 (12,800 subscribers)
//   clients   1 tenant, subscribers 100.64.0.0/15 (131,072: "100,000 clients")
//   strict    as base, with address-and-port-dependent filtering: what endpoint-independent
//             filtering (the learned mappings, updated by every packet out) costs, as base/strict
// Each measurement's ratio is against base's taken in the same round; medians over ROUNDS rounds;
// target >= 0.9. Then, for 131,072 subscribers against 128: compile + render time, `nft -f` time
// and the kernel memory the ruleset takes (SUnreclaim + VmallocUsed of /proc/meminfo, before and
// after loading it into a scratch namespace), medians of 3.
// Blocks are 64 ports (131,072 subscribers need that with a /24 pool), so the labs' routers keep
// TIME_WAIT flows 1 s instead of 120 s (nf_conntrack_tcp_timeout_time_wait, in their namespace):
// one subscriber opening thousands of connections a second would otherwise exhaust its 64 ports x 64
// destination ports within seconds. A real subscriber does not open 3,000 connections a second.
// Run: npm run bench:cgnat [-- --json]   (ROUNDS, CONN_CLIENTS, CONN_SECONDS, IPERF_SECONDS override;
// --smoke: one round of 0.5 s and 1 s, 3 tenants and 1,024 subscribers, one load, to prove the bench works)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { textOf } from '../src/host/files.ts';
import { NamespaceRun } from '../src/lab/netns.ts';
import { realRunner } from '../src/lab/run.ts';
import { compileCgnat } from '../src/systems/cgnat/compile/index.ts';
import { type BuiltCgnatLab, buildCgnatLab } from '../src/systems/cgnat/lab/build.ts';
import { renderCgnat } from '../src/systems/cgnat/render.ts';
import { readCgnat } from '../src/systems/cgnat/system.ts';
import { IPERF_OMIT, SMOKE_LINE, setting, smoke } from './smoke.ts';
import {
  connRun as connRate,
  IPERF,
  IPERF_PORT,
  json,
  type LabHosts,
  labClient,
  machineInfo,
  machineLine,
  median,
  note,
  otherNamespaces,
  out,
  sh,
  startBanner,
  startIperfServer,
  tempSpec,
  warnOthers,
} from './support.ts';

const ROUNDS = setting('ROUNDS', 5, 1);
const CONN_CLIENTS = setting('CONN_CLIENTS', 16, 2);
const CONN_SECONDS = setting('CONN_SECONDS', 5, 0.5);
const IPERF_SECONDS = setting('IPERF_SECONDS', 3, 1);
/** Compile, render and nft -f runs of each ruleset, and the kernel's settling time around them. */
const LOADS = smoke ? 1 : 3;
const SETTLE_MS = smoke ? 0 : 2000;
const CONN_PORT = 7000;
const CONN_PORTS = 64;
const SERVER = 'server';
const CLIENT = 'client';
const SERVER_ADDRESS = '203.0.113.254';

const TENANTS = smoke ? 3 : 100;
const CLIENTS_PREFIX = smoke ? 22 : 15;
const count = (n: number) => n.toLocaleString('en');
const SCENARIOS = [
  { name: 'base', tenants: 1, subscribers: '100.64.0.0/25', what: '1 tenant, 128 subscribers' },
  {
    name: 'tenants',
    tenants: TENANTS,
    subscribers: '100.64.0.0/25',
    what: `${TENANTS} tenants, ${count(TENANTS * 128)} subscribers`,
  },
  {
    name: 'clients',
    tenants: 1,
    subscribers: `100.64.0.0/${CLIENTS_PREFIX}`,
    what: `1 tenant, ${count(2 ** (32 - CLIENTS_PREFIX))} subscribers`,
  },
  {
    name: 'strict',
    tenants: 1,
    subscribers: '100.64.0.0/25',
    what: 'base without EIF (addr+port-dep.)',
    filtering: 'address-and-port-dependent',
  },
] as const;
type Scenario = (typeof SCENARIOS)[number];

function specOf(s: Scenario): unknown {
  const tenants = Array.from({ length: s.tenants }, (_, i) => [
    `t${i + 1}`,
    {
      bridge: `br${i + 1}`,
      gateways: ['100.127.255.254/10'],
      subscribers: [s.subscribers],
      clients: i === s.tenants - 1 ? { [CLIENT]: { addresses: ['100.64.0.10'] } } : {},
    },
  ]);
  return {
    kind: 'cgnat',
    name: `bench-${s.name}`,
    backend: 'netns',
    router: 'router',
    uplink: { interface: 'wan', addresses: ['203.0.113.1/24'], gateways: [SERVER_ADDRESS] },
    nat: {
      pool: ['198.51.100.0/24'],
      block: 64,
      filtering: 'filtering' in s ? s.filtering : 'endpoint-independent',
    },
    tenants: Object.fromEntries(tenants),
    peer: { name: SERVER, interface: 'eth0', addresses: [`${SERVER_ADDRESS}/24`] },
  };
}

const hostsOf = (lab: BuiltCgnatLab): LabHosts => ({ ns: lab.ns, track: (pid) => lab.run.track(pid) });

const connRun = (lab: BuiltCgnatLab) =>
  connRate(
    hostsOf(lab),
    CLIENT,
    { address: SERVER_ADDRESS, port: CONN_PORT, label: lab.cgnat.name },
    { clients: CONN_CLIENTS, seconds: CONN_SECONDS, ports: CONN_PORTS },
  );

async function iperfRun(lab: BuiltCgnatLab): Promise<number> {
  const argv = [
    IPERF,
    '-c',
    SERVER_ADDRESS,
    '-p',
    String(IPERF_PORT),
    '-t',
    String(IPERF_SECONDS),
    '-O',
    String(IPERF_OMIT),
    '-J',
  ];
  const r = await labClient(hostsOf(lab), CLIENT, argv, (IPERF_SECONDS + 20) * 1000);
  const bps = (JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end
    ?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`${lab.cgnat.name}: iperf3 gave no result: ${r.stderr || r.stdout}`);
  return bps / 1e9;
}

/** Compile + render, nft -f and kernel memory of one scenario's ruleset, each a median of 3. */
async function loadFigures(
  s: Scenario,
): Promise<{ elements: number; renderS: number; loadS: number; memoryMb: number }> {
  const spec = tempSpec(`cgnat-${s.name}`, specOf(s));
  try {
    const c = readCgnat(spec.file);
    const renders: number[] = [];
    let text = '';
    for (let i = 0; i < LOADS; i++) {
      const t = performance.now();
      const nft = renderCgnat(compileCgnat(c)).find((f) => f.path === 'nftables.conf');
      text = textOf(nft as NonNullable<typeof nft>);
      renders.push((performance.now() - t) / 1000);
    }
    const file = join(spec.file, '..', 'nftables.conf');
    writeFileSync(file, text);
    const loads: number[] = [];
    const memory: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const run = new NamespaceRun();
      try {
        const ns = run.add('scratch');
        // A namespace is created and torn down partly in the background: let the kernel settle.
        await settle();
        // The tenants' interfaces need not exist: the sets name them, no rule binds to one.
        const before = kernelMemory();
        const t = performance.now();
        sh(['ip', 'netns', 'exec', ns, 'nft', '-f', file]);
        loads.push((performance.now() - t) / 1000);
        await settle();
        memory.push((kernelMemory() - before) / 1024);
      } finally {
        run.cleanup();
      }
      await settle();
    }
    const elements = c.tenants.reduce((n, t) => n + t.subscriberCount, 0);
    return { elements, renderS: median(renders), loadS: median(loads), memoryMb: median(memory) };
  } finally {
    spec.remove();
  }
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

/** The kernel's own memory in kB that a ruleset lives in: unreclaimable slab and vmalloc. */
function kernelMemory(): number {
  const text = realRunner(['cat', '/proc/meminfo']).stdout;
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return kb('SUnreclaim') + kb('VmallocUsed');
}

const started = Date.now();
const machine = machineInfo();
const others = [otherNamespaces()];
// Before the labs: their namespaces' teardown runs in the background and would blur the memory.
const loads = [];
for (const s of [SCENARIOS[0], SCENARIOS[2]]) loads.push({ s, ...(await loadFigures(s)) });
const labs: BuiltCgnatLab[] = [];
const specs: { remove: () => void }[] = [];
const rounds: Record<string, { conn: number; ms: number; gbps: number }[]> = {};
try {
  for (const s of SCENARIOS) {
    const spec = tempSpec(`cgnat-${s.name}`, specOf(s));
    specs.push(spec);
    const t = performance.now();
    const lab = await buildCgnatLab(readCgnat(spec.file), () => {});
    labs.push(lab);
    note(`${s.name}: ${s.what}, lab up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const router = lab.ns('router');
    sh([
      'ip',
      'netns',
      'exec',
      router,
      'sysctl',
      '-q',
      '-w',
      'net.netfilter.nf_conntrack_tcp_timeout_time_wait=1',
    ]);
    sh([
      'ip',
      'netns',
      'exec',
      lab.ns(CLIENT),
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_local_port_range=1024 65535',
    ]);
    await startIperfServer(hostsOf(lab), SERVER);
    await startBanner(hostsOf(lab), SERVER, CONN_PORT, CONN_PORTS);
    rounds[s.name] = [];
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, s] of SCENARIOS.entries()) {
      const lab = labs[i] as BuiltCgnatLab;
      const conn = await connRun(lab);
      const gbps = await iperfRun(lab);
      rounds[s.name]?.push({ conn: conn.perSecond, ms: conn.medianMs, gbps });
      note(
        `round ${round} ${s.name}: ${conn.perSecond.toFixed(0)} conn/s (median ${conn.medianMs} ms), ${gbps.toFixed(2)} Gbit/s`,
      );
    }
  }
} finally {
  for (const lab of labs) lab.run.cleanup();
  for (const spec of specs) spec.remove();
}
others.push(otherNamespaces());
warnOthers(others);

const base = rounds.base ?? [];
const ratio = (name: string, key: 'conn' | 'gbps') =>
  median((rounds[name] ?? []).map((r, i) => r[key] / (base[i] as (typeof base)[number])[key]));
const figures = SCENARIOS.map((s) => ({
  scenario: s.name,
  what: s.what,
  connPerSecond: median((rounds[s.name] ?? []).map((r) => r.conn)),
  medianMs: median((rounds[s.name] ?? []).map((r) => r.ms)),
  gbps: median((rounds[s.name] ?? []).map((r) => r.gbps)),
  connRatio: s.name === 'base' ? 1 : ratio(s.name, 'conn'),
  gbpsRatio: s.name === 'base' ? 1 : ratio(s.name, 'gbps'),
}));

if (json) {
  process.stdout.write(
    `${JSON.stringify({ machine, rounds: ROUNDS, figures, loads, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`,
  );
} else {
  const met = (x: number) => (x >= 0.9 ? 'met' : 'NOT MET');
  if (smoke) out(SMOKE_LINE);
  out(machineLine(machine));
  out(
    `CGNAT, netns backend; ${CONN_CLIENTS} clients x ${CONN_SECONDS} s of connect+banner+close, iperf3 -t ${IPERF_SECONDS} -O ${IPERF_OMIT}; median of ${ROUNDS} interleaved rounds; ratio per round against base`,
  );
  out('');
  out('  scenario   what                                conn/s   median    ratio     Gbit/s   ratio');
  for (const f of figures)
    out(
      `  ${f.scenario.padEnd(10)} ${f.what.padEnd(34)} ${f.connPerSecond.toFixed(0).padStart(7)}  ${`${f.medianMs} ms`.padStart(8)}  ${f.connRatio.toFixed(3).padStart(6)}  ${f.gbps.toFixed(2).padStart(8)}  ${f.gbpsRatio.toFixed(3).padStart(6)}`,
    );
  const strict = figures.find((f) => f.scenario === 'strict');
  const eif = (key: 'conn' | 'gbps') =>
    median(base.map((b, i) => b[key] / ((rounds.strict ?? [])[i] as (typeof base)[number])[key]));
  for (const f of figures.slice(1).filter((x) => x !== strict))
    out(
      `  ${f.scenario}/base: conn/s ${f.connRatio.toFixed(3)} (target >= 0.9: ${met(f.connRatio)}), Gbit/s ${f.gbpsRatio.toFixed(3)} (${met(f.gbpsRatio)})`,
    );
  out(
    `  base/strict (what endpoint-independent filtering costs): conn/s ${eif('conn').toFixed(3)} (${met(eif('conn'))}), Gbit/s ${eif('gbps').toFixed(3)} (${met(eif('gbps'))})`,
  );
  out('');
  out('  ruleset of                  compile+render   nft -f    kernel memory (slab + vmalloc)');
  for (const l of loads)
    out(
      `  ${`${l.elements.toLocaleString('en')} subscribers`.padEnd(27)} ${`${l.renderS.toFixed(2)} s`.padStart(14)}  ${`${l.loadS.toFixed(2)} s`.padStart(7)}   ${l.memoryMb.toFixed(1)} MB`,
    );
  out(`  (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
}
