// What the lab benches share: output, medians, a spec written to a temporary file, iperf3 between
// lab namespaces, the upstream's port counters (which node a flow entered and left through), the
// machine line and the count of other convergent runs' namespaces.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { PYTHON } from '../src/lab/agent.ts';
import { NETNS_PREFIX } from '../src/lab/netns.ts';
import { realRunner, runChecked } from '../src/lab/run.ts';
import type { LabInstance } from '../src/systems/cluster/lab/build.ts';
import { UPSTREAM, WORKSTATION } from '../src/systems/cluster/lab/topology.ts';
import { IPERF_OMIT } from './smoke.ts';

export const IPERF = '/usr/bin/iperf3';
export const CONNRATE = fileURLToPath(new URL('./connrate.py', import.meta.url));
export const IPERF_PORT = 5201;

export const json = process.argv.includes('--json');
// With --json, stdout carries the JSON alone; the table and progress go to stderr.
export const out = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
export const note = (line: string) => process.stderr.write(`  ${line}\n`);

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return (s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2) as number;
};
export const sh = (argv: readonly string[]) => runChecked(realRunner, argv).trim();

export function tempSpec(name: string, spec: unknown): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'convergent-bench-'));
  const file = join(dir, name);
  writeFileSync(file, stringify(spec));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the helpers need of a lab: its hosts' namespaces, and tracking of what runs in them. */
export type LabHosts = Pick<LabInstance, 'ns' | 'track'>;

/** Points the guest subnet at a node, inside the lab's upstream namespace only (a baseline's path). */
export function routeVia(lab: LabInstance, subnet: string, address: string): void {
  sh(['ip', '-n', lab.ns(UPSTREAM), 'route', 'replace', subnet, 'via', address]);
}

/** Starts iperf3 -s in a guest's namespace, tracked by the lab, and waits until it listens. */
export async function startIperfServer(lab: LabHosts, guest: string): Promise<void> {
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

/** Starts a python helper in a guest's namespace, tracked by the lab, and waits for its "ready" line. */
export function startReady(
  lab: LabHosts,
  guest: string,
  argv: readonly string[],
  what: string,
): Promise<void> {
  const ns = lab.ns(guest);
  const child = spawn('ip', ['netns', 'exec', ns, PYTHON, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${what} in ${ns}`);
  lab.track(child.pid); // `ip netns exec` execs python: the same PID, killed by run.cleanup()
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`${what} in ${ns} did not start in 10 s`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!stdout.includes('ready\n')) return;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      resolve();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} in ${ns} exited (${code}): ${stderr.trim()}`));
    });
  });
}

/** Starts connrate.py's banner server in the guest's namespace, tracked by the lab, and waits for it. */
export function startBanner(lab: LabHosts, guest: string, port: number, ports: number): Promise<void> {
  return startReady(
    lab,
    guest,
    [CONNRATE, '--serve', String(port), guest, String(ports)],
    'the banner server',
  );
}

export interface IperfRun {
  readonly gbps: number;
  readonly retransmits: number;
  readonly enters?: string;
  readonly leaves?: string;
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
}

/** Bytes each node's port on the upstream's uplink bridge received and sent so far. */
export function uplinkBytes(lab: LabInstance): Map<string, { rx: number; tx: number }> {
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
export function busiest(deltas: [string, number][], least: number): string | undefined {
  const [top] = [...deltas].sort((a, b) => b[1] - a[1]);
  return top && top[1] >= least ? top[0] : undefined;
}

/**
 * Runs `measure` and says which node its flows entered and left the cluster through, from the
 * upstream's port counters: the workstation's packets go out toward one node, the answers come back
 * from one (the other ports carry only ARP and the like). `least` is the bytes a direction must move.
 */
export async function throughNodes<T>(
  lab: LabInstance,
  least: { enters: number; leaves: number },
  measure: () => Promise<T>,
): Promise<T & { enters?: string; leaves?: string }> {
  const before = uplinkBytes(lab);
  const result = await measure();
  const after = uplinkBytes(lab);
  const delta = (dir: 'rx' | 'tx') =>
    [...after].map(([node, a]): [string, number] => [node, a[dir] - (before.get(node)?.[dir] ?? a[dir])]);
  return {
    ...result,
    enters: busiest(delta('tx'), least.enters),
    leaves: busiest(delta('rx'), least.leaves),
  };
}

export interface ClientResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a client in a lab namespace, tracked by the lab while it runs, without blocking: a Ctrl-C
 * then finds the event loop free and the labs' signal handlers clean up at once (and kill the
 * client). The client has a process group of its own, so that a Ctrl-C does not end it first and
 * send the bench down its error path with a misleading "iperf3 exited" in the middle of the cleanup.
 */
export function labClient(
  lab: LabHosts,
  host: string,
  argv: readonly string[],
  timeoutMs: number,
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', lab.ns(host), ...argv], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.on('error', reject);
    if (child.pid === undefined) return;
    const untrack = lab.track(child.pid); // `ip netns exec` execs the client: the same PID
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      untrack();
      resolve({ status, stdout, stderr });
    });
  });
}

export interface ConnRun {
  readonly perSecond: number;
  readonly medianMs: number;
  readonly connections: number;
}

/**
 * connrate.py in `client` against `address:port`: `clients` connections at a time for `seconds`
 * (connect, read the banner, close), from `ports` source ports; a failed connection fails the run.
 */
export async function connRun(
  lab: LabHosts,
  client: string,
  target: { readonly address: string; readonly port: number; readonly label: string },
  load: { readonly clients: number; readonly seconds: number; readonly ports?: number },
): Promise<ConnRun> {
  const args = [target.address, target.port, load.clients, load.seconds, load.ports ?? 1].map(String);
  const r = await labClient(lab, client, [PYTHON, CONNRATE, ...args], (load.seconds + 30) * 1000);
  let doc: { per_second: number; median_ms: number; connections: number; failures: number };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${target.label}: connrate.py exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  if (doc.failures > 0) throw new Error(`${target.label}: ${doc.failures} connections failed: ${r.stdout}`);
  return { perSecond: doc.per_second, medianMs: doc.median_ms, connections: doc.connections };
}

/** One iperf3 run from the workstation, `seconds` long after a second of slow start left out. */
export function iperfRun(lab: LabInstance, address: string, seconds: number): Promise<IperfRun> {
  return throughNodes(lab, { enters: 1e8, leaves: 1e5 }, async () => {
    const r = await labClient(
      lab,
      WORKSTATION,
      [
        IPERF,
        '-c',
        address,
        '-p',
        String(IPERF_PORT),
        '-t',
        String(seconds),
        '-O',
        String(IPERF_OMIT), // leave slow start out
        '-J',
      ],
      (seconds + 20) * 1000,
    );
    let doc: IperfJson;
    try {
      doc = JSON.parse(r.stdout) as IperfJson;
    } catch {
      throw new Error(`iperf3 -c ${address} exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    const bps = doc.end?.sum_received?.bits_per_second;
    if (doc.error || bps === undefined) throw new Error(`iperf3 -c ${address}: ${doc.error ?? 'no result'}`);
    return { gbps: bps / 1e9, retransmits: doc.end?.sum_sent?.retransmits ?? 0 };
  });
}

export function machineInfo() {
  return {
    cpus: Number(sh(['nproc'])),
    kernel: sh(['uname', '-r']),
    node: process.version,
    iperf3: (sh([IPERF, '--version']).split('\n')[0] ?? '').trim(),
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

export const machineLine = (m: ReturnType<typeof machineInfo>) =>
  `machine: ${m.cpus} CPUs, kernel ${m.kernel}, node ${m.node}, ${m.iperf3}, load ${m.loadavg}`;

/** Namespaces of other convergent runs (a test suite, a `lab up`): they share the CPUs with this run. */
export const otherNamespaces = () =>
  realRunner(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .filter((l) => l.startsWith(NETNS_PREFIX) && !l.startsWith(`${NETNS_PREFIX}${process.pid}-`)).length;

export function warnOthers(counts: readonly number[]): void {
  if (counts.some((n) => n > 0))
    out(
      `WARNING: other convergent runs had namespaces during this one (${counts.join(', ')} at start, after each part): figures disturbed`,
    );
}
