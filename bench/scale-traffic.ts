// The traffic of bench/scale.bench.ts, from the workstation through a node to guest1: new TCP
// connections (connrate.py), transactions on held connections (rrate.py) and 64-byte UDP frames
// (udpflood.py raw, counted where guest1's eth0 received them). Each run also says which node its
// packets entered and left the cluster through (the upstream's port counters).
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../src/lab/agent.ts';
import type { LabInstance } from '../src/systems/cluster/lab/build.ts';
import { UPSTREAM, WORKSTATION } from '../src/systems/cluster/lab/topology.ts';
import { formatIPv4 } from '../src/util/ipv4.ts';
import { CONN_PORT, CONN_PORTS, GUEST, RR_PORT, UDP_PORT } from './scale-spec.ts';
import { CONNRATE, labClient, sh, startBanner, startReady, throughNodes } from './support.ts';

export const RRATE = fileURLToPath(new URL('./rrate.py', import.meta.url));
export const UDPFLOOD = fileURLToPath(new URL('./udpflood.py', import.meta.url));
/** The senders' source ports: sender i sends from FIRST_SPORT + i, a flow of its own. */
const FIRST_SPORT = 20_000;

export interface Load {
  readonly connClients: number;
  readonly connSeconds: number;
  readonly rrClients: number;
  readonly rrSeconds: number;
  readonly udpSenders: number;
  readonly udpSeconds: number;
}

export interface Run {
  /** Connections, transactions or frames received a second. */
  readonly perSecond: number;
  /** Median latency: connect to banner (ms), or a client's mean round trip (µs); none for UDP. */
  readonly latency?: number;
  /** Failed connections; for UDP, frames sent and not received. */
  readonly failures: number;
  readonly errors?: Record<string, number>;
  /** UDP: frames the senders handed to the kernel a second. */
  readonly sentPerSecond?: number;
  readonly enters?: string;
  readonly leaves?: string;
}

const json = <T>(r: { status: number | null; stdout: string; stderr: string }, what: string): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${what} exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
};

const guestIfname = (lab: LabInstance) =>
  lab.topology.guests.find((g) => g.guest.name === GUEST && g.nic.index === 0)?.ifname ?? 'eth0';

/** guest1's servers (banner, echo, UDP sink); the workstation's client ports widened to 1024-65535. */
export async function startServers(lab: LabInstance): Promise<void> {
  const guest = lab.cluster.guests.find((g) => g.name === GUEST);
  if (!guest) throw new Error(`the lab has no ${GUEST}`);
  await startBanner(lab, GUEST, CONN_PORT, CONN_PORTS);
  await startReady(lab, GUEST, [RRATE, '--serve', String(RR_PORT)], 'rrate.py');
  await startReady(
    lab,
    GUEST,
    [UDPFLOOD, 'sink', formatIPv4(guest.address), String(UDP_PORT)],
    'udpflood.py',
  );
  const range = 'net.ipv4.ip_local_port_range=1024 65535';
  sh(['ip', 'netns', 'exec', lab.ns(WORKSTATION), 'sysctl', '-q', '-w', range]);
}

export function connRun(lab: LabInstance, address: string, load: Load): Promise<Run> {
  const args = [address, CONN_PORT, load.connClients, load.connSeconds, CONN_PORTS];
  return clientRate(lab, `connrate.py ${address}`, [CONNRATE, ...args], load.connSeconds, 'median_ms');
}

export function rrRun(lab: LabInstance, address: string, load: Load): Promise<Run> {
  const args = [address, RR_PORT, load.rrClients, load.rrSeconds];
  return clientRate(lab, `rrate.py ${address}`, [RRATE, ...args], load.rrSeconds, 'median_us');
}

/** One run of a rate client in the workstation (connrate.py, rrate.py), which prints its figures as JSON. */
function clientRate(
  lab: LabInstance,
  what: string,
  argv: readonly (string | number)[],
  seconds: number,
  latencyKey: 'median_ms' | 'median_us',
): Promise<Run> {
  return throughNodes(lab, { enters: 1e4, leaves: 1e4 }, async () => {
    const r = await labClient(lab, WORKSTATION, [PYTHON, ...argv.map(String)], (seconds + 30) * 1000);
    const doc = json<{
      per_second: number;
      median_ms?: number | null;
      median_us?: number | null;
      failures: number;
      errors: Record<string, number>;
    }>(r, what);
    return {
      perSecond: doc.per_second,
      latency: doc[latencyKey] ?? Number.NaN,
      failures: doc.failures,
      errors: doc.errors,
    };
  });
}

const linkOf = (lab: LabInstance, host: string, ifname: string) =>
  (
    JSON.parse(sh(['ip', '-n', lab.ns(host), '-s', '-j', 'link', 'show', ifname])) as {
      address: string;
      stats64: { rx: { packets: number } };
    }[]
  )[0] as { address: string; stats64: { rx: { packets: number } } };

/**
 * `udpSenders` udpflood.py raw processes in the workstation, each one 64-byte frame to
 * address:UDP_PORT from its own source port, for `udpSeconds`; frames guest1's eth0 received a second.
 */
export function udpRun(lab: LabInstance, address: string, load: Load): Promise<Run> {
  return throughNodes(lab, { enters: 1e5, leaves: Number.POSITIVE_INFINITY }, async () => {
    const from = linkOf(lab, WORKSTATION, 'eth0').address;
    const to = linkOf(lab, UPSTREAM, 'wan0').address;
    const source = formatIPv4(lab.topology.workstation.address);
    const ifname = guestIfname(lab);
    const before = linkOf(lab, GUEST, ifname).stats64.rx.packets;
    const runs = await Promise.all(
      Array.from({ length: load.udpSenders }, (_, i) => {
        const argv = [PYTHON, UDPFLOOD, 'raw', 'eth0', from, to, source, address];
        const ports = [FIRST_SPORT + i, UDP_PORT, load.udpSeconds].map(String);
        return labClient(lab, WORKSTATION, [...argv, ...ports], (load.udpSeconds + 30) * 1000);
      }),
    );
    const received = linkOf(lab, GUEST, ifname).stats64.rx.packets - before;
    const docs = runs.map((r) => json<{ sent: number; seconds: number }>(r, `udpflood.py ${address}`));
    const sent = docs.reduce((n, d) => n + d.sent, 0);
    const seconds = Math.max(...docs.map((d) => d.seconds));
    return {
      perSecond: received / seconds,
      sentPerSecond: sent / seconds,
      failures: Math.max(0, sent - received),
    };
  });
}
