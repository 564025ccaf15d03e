// The traffic of bench/ports.bench.ts, from guest a to guest b across the node's bridge: new TCP
// connections to b's port 22 (connrate.py; b is `limited`, which lets new TCP to 22 in) and 64-byte
// UDP frames from a's port 53 (udpflood.py; a `limited` or `protected` port lets UDP from 53 in).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../src/lab/agent.ts';
import { inNs, type PortsLab, rxPackets, widenClientPorts } from './ports-lab.ts';
import { CLIENT, OWN, SERVER } from './ports-spec.ts';
import { CONNRATE, type ConnRun, connRun as connRate, labClient, startReady } from './support.ts';

export type { ConnRun };

export const UDPFLOOD = fileURLToPath(new URL('./udpflood.py', import.meta.url));
export const SSH_PORT = 22;
export const DNS_PORT = 53;
export const SINK_PORT = 9;

const [client, server] = OWN as [(typeof OWN)[0], (typeof OWN)[0]];
const hosts = (lab: PortsLab) => ({ ns: lab.ns, track: lab.track });

/** b's banner server on 22 and UDP sink on 9; a's port range widened and TIME_WAIT ports reused. */
export async function startServers(lab: PortsLab): Promise<void> {
  await startReady(hosts(lab), SERVER, [CONNRATE, '--serve', String(SSH_PORT), SERVER, '1'], 'connrate.py');
  await startReady(hosts(lab), SERVER, [UDPFLOOD, 'sink', server.address, String(SINK_PORT)], 'udpflood.py');
  widenClientPorts(lab.ns(CLIENT));
}

/** connrate.py from a to b:22: `clients` at a time for `seconds`. */
export const connRun = (lab: PortsLab, clients: number, seconds: number): Promise<ConnRun> =>
  connRate(
    hosts(lab),
    CLIENT,
    { address: server.address, port: SSH_PORT, label: lab.label },
    { clients, seconds },
  );

/** udpflood.py raw in a, `senders` processes at once, from `source` (a's own address unless spoofing). */
async function flood(lab: PortsLab, senders: number, seconds: number, source = client.address) {
  const argv = [
    PYTHON,
    UDPFLOOD,
    'raw',
    'eth0',
    client.mac,
    server.mac,
    source,
    server.address,
    String(DNS_PORT),
    String(SINK_PORT),
    String(seconds),
  ];
  const before = rxPackets(lab, SERVER);
  const runs = await Promise.all(
    Array.from({ length: senders }, () => labClient(hosts(lab), CLIENT, argv, (seconds + 30) * 1000)),
  );
  const received = rxPackets(lab, SERVER) - before;
  const docs = runs.map((r) => {
    try {
      return JSON.parse(r.stdout) as { sent: number; seconds: number };
    } catch {
      throw new Error(`${lab.label}: udpflood.py exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
  });
  const sent = docs.reduce((n, d) => n + d.sent, 0);
  return { sent, received, seconds: Math.max(...docs.map((d) => d.seconds)) };
}

export interface PpsRun {
  /** Frames b's eth0 received a second, over the senders' own duration. */
  readonly perSecond: number;
  /** Frames the senders handed to the kernel a second. */
  readonly sentPerSecond: number;
}

export async function ppsRun(lab: PortsLab, senders: number, seconds: number): Promise<PpsRun> {
  const r = await flood(lab, senders, seconds);
  return { perSecond: r.received / r.seconds, sentPerSecond: r.sent / r.seconds };
}

/** Frames from a with another guest's source address: how many reached b (the guard must drop them). */
export async function spoofRun(lab: PortsLab, source: string): Promise<{ sent: number; received: number }> {
  const r = await flood(lab, 1, 0.2, source);
  return { sent: r.sent, received: r.received };
}

/**
 * The generator alone: `senders` udpflood.py raw processes in a's namespace sending the same frames
 * on a veth whose peer is down, which drops each at once; frames a second, all senders together. What the
 * bridge path delivers is to be compared with it: the path's cost is what the generator loses.
 */
export async function generatorAlone(lab: PortsLab, senders: number, seconds: number): Promise<number> {
  const ns = lab.ns(CLIENT);
  if (spawnSync('ip', ['-n', ns, 'link', 'show', 'gen0']).status !== 0)
    // This kernel has no dummy devices: a veth whose peer stays down drops each frame at once.
    inNs(ns, ['ip', 'link', 'add', 'gen0', 'up', 'type', 'veth', 'peer', 'name', 'gen1']);
  const argv = [PYTHON, UDPFLOOD, 'raw', 'gen0', client.mac, server.mac, client.address, server.address];
  const runs = await Promise.all(
    Array.from({ length: senders }, () =>
      labClient(hosts(lab), CLIENT, [...argv, String(DNS_PORT), String(SINK_PORT), String(seconds)], 60_000),
    ),
  );
  return runs.reduce((n, r) => n + (JSON.parse(r.stdout) as { per_second: number }).per_second, 0);
}

/**
 * What becomes of a new TCP connection from a to b:80, which b's `limited` profile does not let in:
 * "dropped" (no answer within 0.5 s), "refused" (b's RST: nothing filtered it) or "connected".
 */
export function profileCheck(lab: PortsLab): 'dropped' | 'refused' | 'connected' {
  const script = `exec 3<>/dev/tcp/${server.address}/80`;
  const r = spawnSync('ip', ['netns', 'exec', lab.ns(CLIENT), 'timeout', '0.5', 'bash', '-c', script]);
  return r.status === 124 ? 'dropped' : r.status === 0 ? 'connected' : 'refused';
}
