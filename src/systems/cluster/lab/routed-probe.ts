// Running the checks of a routed network that read more than an answer. An ARP question is asked
// with a real sender address (proxy ARP answers no probe from 0.0.0.0); then the node is made to ask
// its neighbour anew and the client's neighbour table is read: a guest must hold nothing but the tap
// MAC and no address outside its subnet, the gateway no node's own address (the ARP source the
// nodes rewrite). A "via" check counts every node's forwarded datagrams around the probe.
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import { CLIENT_LIMIT_MS, clientFailure, type Outcome } from '../../../lab/outcome.ts';
import { paced } from '../../../lab/pace.ts';
import { contains, formatIPv4, parseIPv4 } from '../../../util/ipv4.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';
import type { RoutedProbe } from './routed.ts';

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const ipIn = (lab: LabInstance, host: string, args: string[]) =>
  lab.runner(['ip', '-n', lab.ns(host), ...args]);

/** A link's MAC in a host's namespace. */
export function linkMac(lab: LabInstance, host: string, ifname: string): string | undefined {
  const [link] = (parseJson(ipIn(lab, host, ['-j', 'link', 'show', 'dev', ifname]).stdout) as
    | { address?: string }[]
    | undefined) ?? [{}];
  return link?.address;
}

/** Who owns a MAC on a routed network: a node's uplink device, or a tap. */
function macLabel(lab: LabInstance, r: RoutedProbe, mac: string): string {
  if (mac === r.network.tapMac) return r.guest ? `${r.guest.guest.node}'s tap` : 'a tap';
  for (const n of lab.cluster.nodes) if (linkMac(lab, n.name, r.network.uplink.device) === mac) return n.name;
  return mac;
}

async function ask(
  lab: LabInstance,
  probe: Probe,
  r: RoutedProbe,
  iface: string,
): Promise<string[] | Outcome> {
  const limitMs = paced(CLIENT_LIMIT_MS);
  // In IPv6 the question is a neighbour solicitation: who answers it for the address.
  const argv = [
    PYTHON,
    join(AGENT_DIR, 'probe.py'),
    probe.check.family === 6 ? 'ndp' : 'arp',
    iface,
    probe.dial,
    ...(r.sender ? [r.sender] : []),
  ];
  const res = await lab.runAsync(['ip', 'netns', 'exec', lab.ns(probe.client), ...argv], {
    timeoutMs: limitMs,
  });
  const out = parseJson(res.stdout) as { answers?: string[]; error?: string } | undefined;
  if (!out) return { error: clientFailure('probe.py', res, limitMs) };
  if (out.error) return { error: out.error };
  return out.answers ?? [];
}

interface Neighbour {
  readonly dst: string;
  readonly lladdr?: string;
}

const ping = (lab: LabInstance, host: string, address: string) =>
  lab.runAsync(['ip', 'netns', 'exec', lab.ns(host), 'ping', '-c', '1', '-W', '1', '-n', address]);

/**
 * The node asks its neighbour anew (its entry flushed, then traffic that needs it), and the client's
 * table is read: what the node's ARP requests left there.
 */
async function tableFindings(
  lab: LabInstance,
  probe: Probe,
  r: RoutedProbe,
  iface: string,
): Promise<string[]> {
  const g = r.guest;
  if (!g || g.nic.address === undefined) return [];
  const address = formatIPv4(g.nic.address);
  const gateway = formatIPv4(r.network.gateway);
  const fromGuest = probe.check.from.kind === 'guest';
  ipIn(lab, g.guest.node, ['neigh', 'flush', 'dev', fromGuest ? g.tap : r.network.uplink.device]);
  if (fromGuest) await ping(lab, r.gatewayHost, address);
  else await ping(lab, g.guest.name, gateway);
  const entries = (parseJson(ipIn(lab, probe.client, ['-4', '-j', 'neigh', 'show', 'dev', iface]).stdout) ??
    []) as Neighbour[];
  const nodeOf = (a: string) => lab.cluster.nodes.find((n) => formatIPv4(n.address) === a)?.name;
  const findings: string[] = [];
  for (const e of entries) {
    if (!e.lladdr) continue;
    const a = parseIPv4(e.dst);
    const owner = nodeOf(e.dst);
    if (a !== undefined && !contains(r.network.subnet, a))
      findings.push(
        `${probe.client}'s neighbour table holds ${e.dst}${owner ? ` (${owner}'s own address)` : ''} at ${e.lladdr}: an ARP request of a node left its own source address there`,
      );
    else if (fromGuest && e.lladdr !== r.network.tapMac)
      findings.push(
        `${probe.client}'s neighbour table holds ${e.dst} at ${e.lladdr}, not at the tap MAC ${r.network.tapMac}`,
      );
  }
  return findings;
}

/** An ARP question on a routed network: who answers, then what the client's neighbour table holds. */
export async function runRoutedArp(lab: LabInstance, probe: Probe): Promise<Outcome> {
  const r = probe.routed as RoutedProbe;
  const iface = probe.check.from.kind === 'gateway' ? r.gatewayIface : (probe.client15.iface ?? 'eth0');
  const macs = await ask(lab, probe, r, iface);
  if (!Array.isArray(macs)) return macs;
  const findings =
    probe.client15.blocked ||
    probe.check.family === 6 ||
    (r.answersNode === undefined && probe.check.from.kind === 'gateway')
      ? []
      : await tableFindings(lab, probe, r, iface);
  const question = probe.check.family === 6 ? 'NDP' : 'ARP';
  if (macs.length === 0)
    return { error: `nobody answered ${question} for ${probe.dial}`, silent: true, findings };
  // A node answers with its uplink device's MAC, named by the node: what "answers" names.
  return { answered: macs.map((m) => macLabel(lab, r, m)).join(','), macs, findings };
}

/** Each node's forwarded datagrams (IPv4 or IPv6) as its kernel counts them. */
function forwardedBy(lab: LabInstance, six: boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of lab.cluster.nodes) {
    const file = six ? '/proc/net/snmp6' : '/proc/net/snmp';
    const text = lab.runner(['ip', 'netns', 'exec', lab.ns(n.name), 'cat', file]).stdout;
    out.set(n.name, six ? snmp6(text, 'Ip6OutForwDatagrams') : snmp(text, 'ForwDatagrams'));
  }
  return out;
}

const snmp6 = (text: string, key: string) =>
  Number(new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/** /proc/net/snmp's "Ip:" lines: a header line of names, then one of values. */
function snmp(text: string, key: string): number {
  const [names, values] = text.split('\n').filter((l) => l.startsWith('Ip:'));
  const i = names?.split(/\s+/).indexOf(key) ?? -1;
  return Number(values?.split(/\s+/)[i] ?? 0);
}

/** Runs the probe and says which nodes forwarded its packets (their counter grew meanwhile). */
export async function countForwarding(
  lab: LabInstance,
  probe: Probe,
  run: () => Promise<Outcome>,
): Promise<Outcome> {
  const six = probe.check.family === 6;
  const before = forwardedBy(lab, six);
  const outcome = await run();
  const after = forwardedBy(lab, six);
  const forwarded = [...after].filter(([n, c]) => c > (before.get(n) ?? 0)).map(([n]) => n);
  return { ...outcome, forwarded };
}

/** What an extra node in the path means. */
export function extraHop(outcome: Outcome, via: string): string {
  const extra = (outcome.forwarded ?? []).filter((n) => n !== via);
  return extra.length === 0 ? '' : `: an extra hop through ${extra.join(', ')}`;
}
