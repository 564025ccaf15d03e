// The traffic of bench/routed.bench.ts: new TCP connections from the internet client behind the
// upstream router to the server guest's port 22 (its `limited` profile lets new TCP to 22 in), through
// the node: in on the trunk, `iif eth1 lookup 500`, the guest's /32 to its tap, the profile in
// forward; the replies in on the tap, anti-spoofing's set lookup, `from 10.80.0.0/16 lookup 500`, its
// default route to the upstream.
import { PYTHON } from '../src/lab/agent.ts';
import { inNs } from './ports-lab.ts';
import { CLIENT, type RoutedLab } from './routed-lab.ts';
import { SERVER_GUEST } from './routed-spec.ts';
import { CONNRATE, labClient, startReady } from './support.ts';

export const SSH_PORT = 22;

/** The server's banner on 22; the client's port range widened and TIME_WAIT ports reused. */
export async function startServer(lab: RoutedLab): Promise<void> {
  const argv = [CONNRATE, '--serve', String(SSH_PORT), SERVER_GUEST.name, '1'];
  await startReady(lab, SERVER_GUEST.name, argv, 'connrate.py');
  // One destination port: tcp_tw_reuse lets a connect() take over a TIME_WAIT port after 1 s.
  inNs(lab.ns(CLIENT), [
    'sysctl',
    '-q',
    '-w',
    'net.ipv4.ip_local_port_range=1024 65535',
    'net.ipv4.tcp_tw_reuse=1',
  ]);
}

export interface ConnRun {
  readonly perSecond: number;
  readonly medianMs: number;
}

/** connrate.py from the client to the server guest's 22: `clients` at a time for `seconds`. */
export async function connRun(lab: RoutedLab, clients: number, seconds: number): Promise<ConnRun> {
  const args = [SERVER_GUEST.address, SSH_PORT, clients, seconds, 1].map(String);
  const r = await labClient(lab, CLIENT, [PYTHON, CONNRATE, ...args], (seconds + 30) * 1000);
  let doc: { per_second: number; median_ms: number; failures: number };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${lab.label}: connrate.py exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  if (doc.failures > 0) throw new Error(`${lab.label}: ${doc.failures} connections failed: ${r.stdout}`);
  return { perSecond: doc.per_second, medianMs: doc.median_ms };
}

/** Whether a ping from the server guest reaches the client: from its own address, or from `source`. */
export function pingFromServer(lab: RoutedLab, target: string, source?: string): boolean {
  const ns = lab.ns(SERVER_GUEST.name);
  if (source !== undefined) inNs(ns, ['ip', 'address', 'replace', `${source}/32`, 'dev', 'eth0']);
  try {
    const argv = ['ping', '-c', '1', '-W', '1', ...(source ? ['-I', source] : []), target];
    return labPing(ns, argv);
  } finally {
    if (source !== undefined) inNs(ns, ['ip', 'address', 'del', `${source}/32`, 'dev', 'eth0']);
  }
}

function labPing(ns: string, argv: readonly string[]): boolean {
  try {
    inNs(ns, argv);
    return true;
  } catch {
    return false;
  }
}
