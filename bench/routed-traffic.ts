import { inNs, widenClientPorts } from './ports-lab.ts';
import { CLIENT, type RoutedLab } from './routed-lab.ts';
import { SERVER_GUEST } from './routed-spec.ts';
import { CONNRATE, type ConnRun, connRun as connRate, startReady } from './support.ts';

export type { ConnRun };

export const SSH_PORT = 22;

/** The server's banner on 22; the client's port range widened and TIME_WAIT ports reused. */
export async function startServer(lab: RoutedLab): Promise<void> {
  const argv = [CONNRATE, '--serve', String(SSH_PORT), SERVER_GUEST.name, '1'];
  await startReady(lab, SERVER_GUEST.name, argv, 'connrate.py');
  widenClientPorts(lab.ns(CLIENT));
}

/** connrate.py from the client to the server guest's 22: `clients` at a time for `seconds`. */
export const connRun = (lab: RoutedLab, clients: number, seconds: number): Promise<ConnRun> =>
  connRate(
    lab,
    CLIENT,
    { address: SERVER_GUEST.address, port: SSH_PORT, label: lab.label },
    { clients, seconds },
  );

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
