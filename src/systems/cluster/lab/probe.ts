// Runs one probe with a real client in its namespace, and judges the outcome against the check.
//   http  curl against the guest's HTTP server
//   tcp   probe.py tcp: connect and read the banner
//   udp   probe.py udp: one request, one reply, and the address the reply came from
//   ping  ping -c 1
//   arp   probe.py arp: every MAC that answers "who has <address>"
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import type { FlowNodes } from '../../../lab/observe.ts';
import { CLIENT_LIMIT_MS, clientFailure, type Outcome } from '../../../lab/outcome.ts';
import { labPace, paced } from '../../../lab/pace.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { countThrough, throughProblems } from './appliance-probe.ts';
import type { LabInstance } from './build.ts';
import { runFailover } from './failover.ts';
import type { Probe } from './probes.ts';
import { countForwarding, extraHop, runRoutedArp } from './routed-probe.ts';
import { runGarp, runSegment, withClientChanges } from './segment.ts';

const BANNER = /^(\S+) saw ([\da-f.:]+):(\d+)$/;

/** How long a client waits for its answer (curl, probe.py) at the usual pace. */
const CLIENT_TIMEOUT_MS = 3_000;
/** How long ping waits for its echo reply at the usual pace. */
const PING_WAIT_MS = 2_000;
export async function runProbe(lab: LabInstance, probe: Probe, clientPort: number): Promise<Outcome> {
  if (probe.expect.through === undefined) return runOnce(lab, probe, clientPort);
  return countThrough(lab, probe, clientPort, () => runOnce(lab, probe, clientPort));
}

async function runOnce(lab: LabInstance, probe: Probe, clientPort: number): Promise<Outcome> {
  const f = probe.client15;
  if (f.cut) return runFailover(lab, probe);
  if (f.listeners) return runSegment(lab, probe);
  if (f.announce) return runGarp(lab, probe);
  if (probe.check.proto === 'arp' && probe.routed) return runRoutedArp(lab, probe);
  const run = () => withClientChanges(lab, probe, () => runClient(lab, probe, clientPort));
  return probe.expect.via === undefined ? run() : countForwarding(lab, probe, run);
}

/** A check from one NIC of a guest ("vm1:1") sends from that NIC's address. */
const bindOf = (probe: Probe): string[] =>
  probe.client15.bind === undefined ? [] : [formatIPv4(probe.client15.bind)];

async function runClient(lab: LabInstance, probe: Probe, clientPort: number): Promise<Outcome> {
  const address = probe.dial;
  const limitMs = paced(CLIENT_LIMIT_MS);
  const inClient = (argv: string[]) =>
    lab.runAsync(['ip', 'netns', 'exec', lab.ns(probe.client), ...argv], { timeoutMs: limitMs });
  const f = probe.client15;
  switch (probe.check.proto) {
    case 'http': {
      const r = await inClient([
        'curl',
        '-sS',
        '--max-time',
        String(paced(CLIENT_TIMEOUT_MS) / 1000),
        '--local-port',
        String(clientPort),
        '-w',
        '\n%{remote_ip}:%{remote_port} %{time_total}',
        `http://${address}:${probe.port}/`,
      ]);
      // 28: curl's "operation timed out" (no answer); 7: refused, or no route.
      if (r.code !== 0)
        return { error: clientFailure('curl', r, limitMs), silent: r.code === 28 || undefined };
      const lines = r.stdout.trim().split('\n');
      const [replyFrom, seconds] = (lines.at(-1) ?? '').split(' ');
      return { ...fromBanner(lines[0] ?? ''), replyFrom, ms: Math.round(Number(seconds) * 10_000) / 10 };
    }
    case 'tcp':
    case 'udp': {
      const source = f.source === undefined ? bindOf(probe) : [formatIPv4(f.source)];
      const r = await inClient([
        PYTHON,
        join(AGENT_DIR, 'probe.py'),
        probe.check.proto,
        address,
        String(probe.port),
        String(clientPort),
        ...source,
      ]);
      const out = parseJson(r.stdout) as
        | {
            banner?: string;
            replyFrom?: string;
            ms?: number;
            tries?: number;
            error?: string;
            silent?: boolean;
          }
        | undefined;
      if (!out) return { error: clientFailure('probe.py', r, limitMs) };
      if (out.error) return { error: out.error, silent: out.silent };
      return { ...fromBanner(out.banner ?? ''), replyFrom: out.replyFrom, ms: out.ms, tries: out.tries };
    }
    case 'ping':
      return ping(lab, probe, address, limitMs);
    case 'arp': {
      const r = await inClient([PYTHON, join(AGENT_DIR, 'probe.py'), 'arp', f.iface ?? 'eth0', address]);
      const out = parseJson(r.stdout) as { answers?: string[]; error?: string } | undefined;
      if (!out) return { error: clientFailure('probe.py', r, limitMs) };
      if (out.error) return { error: out.error };
      const macs = out.answers ?? [];
      if (macs.length === 0) return { error: `nobody answered ARP for ${address}`, silent: true };
      const byMac = macOwners(lab);
      return { answered: macs.map((mac) => byMac.get(mac) ?? mac).join(','), macs };
    }
    case 'multicast':
    case 'broadcast':
    case 'vrrp':
    case 'garp':
      return { error: `a ${probe.check.proto} check runs alone (runSegment, runGarp)` };
  }
}

/** ping -c 1; with a size, "don't fragment" (-M do -s SIZE): a narrow link on the path makes it fail. */
async function ping(lab: LabInstance, probe: Probe, address: string, limitMs: number): Promise<Outcome> {
  // -W takes whole seconds.
  const wait = Math.ceil((PING_WAIT_MS * labPace()) / 1000);
  const size = probe.client15.size;
  const sized = size === undefined ? [] : ['-M', 'do', '-s', String(size)];
  const bind = bindOf(probe).flatMap((a) => ['-I', a]);
  // A path MTU learnt by an earlier run ("Frag needed") would stop the next one at the client.
  if (size !== undefined) lab.runner(['ip', '-n', lab.ns(probe.client), 'route', 'flush', 'cache']);
  const r = await lab.runAsync(
    [
      'ip',
      'netns',
      'exec',
      lab.ns(probe.client),
      'ping',
      '-c',
      '1',
      '-W',
      String(wait),
      ...sized,
      ...bind,
      '-n',
      address,
    ],
    { timeoutMs: limitMs },
  );
  const m = /bytes from ([\da-f.:]+): .* time=([\d.]+) ms/.exec(r.stdout);
  const ttl = /\bttl=(\d+)/.exec(r.stdout)?.[1];
  if (r.code === 0 && m)
    return { replyFrom: m[1], ms: Number(m[2]), ...(ttl ? { figures: { ttl: Number(ttl) } } : {}) };
  // A datagram the client's own NIC cannot carry was never sent: an error, not silence.
  const local = /local error: .*/.exec(`${r.stdout}\n${r.stderr}`);
  if (local) return { error: `ping could not send: ${local[0]}` };
  // ping exits 1 when no reply came (an ICMP error, such as "Frag needed", is no reply), 2 on an error.
  if (r.code === 1 && !r.timedOut) {
    const icmp = /From (\S+) icmp_seq=\d+ (.*)/.exec(r.stdout);
    return {
      error: icmp ? `no echo reply: ${icmp[1]} said "${icmp[2]}"` : `no echo reply within ${wait} s`,
      silent: true,
    };
  }
  return { error: clientFailure('ping', r, limitMs) };
}

/** Who owns a MAC in the lab: a node's guest bridge, or a guest's NIC. */
function macOwners(lab: LabInstance): Map<string, string> {
  return new Map([
    ...lab.cluster.nodes.map((n) => [n.bridgeMac, n.name] as const),
    ...lab.cluster.guests.flatMap((g) => g.nics.flatMap((n) => (n.mac ? [[n.mac, g.name] as const] : []))),
  ]);
}

/** "guest1 saw 198.51.100.10:40001": who answered and the peer it saw. */
export function fromBanner(line: string): Outcome {
  const m = BANNER.exec(line.trim());
  return m
    ? { answered: m[1], saw: m[2] }
    : { error: `unexpected answer: ${JSON.stringify(line.slice(0, 120))}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Where a check's flow entered and left, as the upstream saw it; `outran`: see CheckResult. */
export interface FlowSeen extends FlowNodes {
  readonly outran?: boolean;
}

/**
 * Whether a flow's replies left through the expected node. Replies that outran CT-SYNC's sync leave
 * through the entering node, by design: with the flow on record as sent back, leaving through that
 * node as well as (or instead of) the expected one passes.
 */
export function leftThrough(flow: FlowSeen, expected: string): boolean {
  if (flow.leaves === expected) return true;
  if (!flow.outran || flow.enters === undefined || flow.leaves === undefined) return false;
  return flow.leaves.split('+').every((n) => n === expected || n === flow.enters);
}

/** What is wrong with an outcome, in words; empty when the check passes. */
export function judge(probe: Probe, outcome: Outcome, flow: FlowSeen): string[] {
  if (probe.client15.blocked) {
    if (outcome.silent) return [];
    if (outcome.error) return [`the probe could not run, so it proves no block: ${outcome.error}`];
    return [`${outcome.answered ?? outcome.replyFrom ?? 'something'} answered; expected nothing to`];
  }
  if (outcome.error) return [outcome.error];
  const problems: string[] = [];
  const e = probe.expect;
  const receivers = probe.client15.receivers;
  if (receivers !== undefined) {
    const got = (outcome.answered ?? '').split(',').filter((x) => x !== '');
    if ([...got].sort().join(',') !== [...receivers].sort().join(','))
      problems.push(
        `received by ${got.join(', ') || 'nobody'}, expected ${receivers.join(', ') || 'nobody'}`,
      );
    return [...problems, ...throughProblems(probe, outcome)];
  }
  if (e.answersMac !== undefined) {
    if (outcome.macs?.length !== 1 || outcome.macs[0] !== e.answersMac)
      problems.push(`${outcome.answered} answered, expected ${e.answers} (${e.answersMac}) alone`);
  } else if (e.answers !== undefined && outcome.answered !== e.answers)
    problems.push(`${outcome.answered} answered, expected ${e.answers}`);
  if (e.sees !== undefined && outcome.saw !== e.sees)
    problems.push(`the server saw ${outcome.saw}, expected ${e.sees}`);
  if (e.replyFrom !== undefined && outcome.replyFrom !== e.replyFrom)
    problems.push(`the reply came from ${outcome.replyFrom}, not from ${e.replyFrom} that was dialled`);
  if (e.via !== undefined && outcome.forwarded?.join(',') !== e.via)
    problems.push(
      `forwarded by ${outcome.forwarded?.join(', ') || 'no node'}, expected ${e.via} alone${extraHop(outcome, e.via)}`,
    );
  if (e.ttl !== undefined && outcome.figures?.ttl !== e.ttl)
    problems.push(`the echo reply came with TTL ${outcome.figures?.ttl ?? 'unknown'}, expected ${e.ttl}`);
  problems.push(...throughProblems(probe, outcome));
  problems.push(...(outcome.findings ?? []));
  if (e.leaves !== undefined && !leftThrough(flow, e.leaves))
    problems.push(
      `traffic to the workstation left through ${flow.leaves ?? 'no node'}, expected ${e.leaves}`,
    );
  else if (
    e.leaves !== undefined &&
    flow.handshake &&
    !leftThrough({ ...flow, leaves: flow.handshake }, e.leaves)
  )
    problems.push(`the SYN-ACK left through ${flow.handshake}, expected ${e.leaves}`);
  return problems;
}
