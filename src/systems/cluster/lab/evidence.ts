// When a check fails, the lab runs it once more with its eyes open: a capture on every node on the
// path and on the upstream, the nft counters that moved, and the conntrack entries of the flow.
// That is what a person debugging the cluster would collect by hand with tcpdump, nft and conntrack.
import { spawn } from 'node:child_process';
import type { Evidence } from '../../../lab/result.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { plural } from '../../../util/plural.ts';
import type { LabInstance } from './build.ts';
import { runProbe } from './probe.ts';
import type { Probe } from './probes.ts';
import { SEGMENT_PORT } from './segment.ts';
import { UPSTREAM } from './topology.ts';

export async function gatherEvidence(lab: LabInstance, probe: Probe, clientPort: number): Promise<Evidence> {
  const nodes = nodesOnPath(lab, probe);
  const before = new Map(nodes.map((n) => [n, counters(lab, n)]));
  const filter = captureFilter(lab, probe, clientPort);
  const captures = await Promise.all([...nodes, UPSTREAM].map((h) => capture(lab, h, filter)));
  const outcome = await runProbe(lab, probe, clientPort);
  await new Promise((r) => setTimeout(r, 300));
  const lines = (await Promise.all(captures.map((c) => c.stop()))).flat();
  lines.sort((a, b) => a.time - b.time);
  const t0 = lines[0]?.time ?? 0;
  const wire = lines.map((l) => `+${(l.time - t0).toFixed(6)} ${l.host.padEnd(10)} ${l.text}`);

  return {
    clientPort,
    outcome,
    wire,
    nodes: nodes.map((node) => {
      const after = counters(lab, node);
      const moved: string[] = [];
      for (const [key, c] of after) {
        const delta = c.packets - (before.get(node)?.get(key)?.packets ?? 0);
        if (delta > 0) moved.push(`${c.chain}: ${c.comment ?? '(rule)'} (+${plural(delta, 'packet')})`);
      }
      return { node, conntrack: conntrackOf(lab, node, probe, clientPort), counters: moved };
    }),
  };
}

/**
 * The flow's packets: its client port (kept through NAT), ICMP about it, and the server's side when
 * that is another connection (a reverse proxy opens its own to the guest).
 */
function captureFilter(lab: LabInstance, probe: Probe, clientPort: number): string {
  if (probe.check.proto === 'arp' || probe.check.proto === 'garp') return 'arp';
  if (probe.client15.listeners) return `udp port ${SEGMENT_PORT}`;
  if (probe.check.proto === 'ping') return 'icmp';
  const guest = lab.cluster.guests.find((g) => g.name === probe.server?.host);
  const server =
    guest && probe.server ? ` or (host ${formatIPv4(guest.address)} and port ${probe.server.port})` : '';
  return `port ${clientPort} or icmp${server}`;
}

/** Every node in a small cluster; in a large one, the nodes this check should touch. */
function nodesOnPath(lab: LabInstance, probe: Probe): string[] {
  const all = lab.cluster.nodes.map((n) => n.name);
  if (all.length <= 6) return all;
  const answerer = lab.cluster.guests.find((g) => g.name === probe.expect.answers)?.node;
  return all.filter((n) => n === probe.entering || n === answerer || n === probe.expect.leaves);
}

interface Counter {
  readonly chain: string;
  readonly comment?: string;
  readonly packets: number;
}

function counters(lab: LabInstance, node: string): Map<string, Counter> {
  const out = new Map<string, Counter>();
  const r = lab.runner(['ip', 'netns', 'exec', lab.ns(node), 'nft', '-j', 'list', 'ruleset']);
  if (r.code !== 0) return out;
  const doc = JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] };
  for (const item of doc.nftables) {
    const rule = item.rule as
      | {
          family: string;
          table: string;
          chain: string;
          handle: number;
          comment?: string;
          expr: Record<string, unknown>[];
        }
      | undefined;
    if (!rule) continue;
    const counter = rule.expr.find((e) => e.counter)?.counter as { packets: number } | undefined;
    if (!counter) continue;
    out.set(`${rule.family} ${rule.table} ${rule.chain} ${rule.handle}`, {
      chain: `${rule.family} ${rule.chain}`,
      comment: rule.comment,
      packets: counter.packets,
    });
  }
  return out;
}

function conntrackOf(lab: LabInstance, node: string, probe: Probe, port: number): string[] {
  const proto = probe.check.proto;
  if (proto === 'arp') return [];
  const r = lab.runner(['ip', 'netns', 'exec', lab.ns(node), 'conntrack', '-L', '-o', 'id']);
  const lines = r.stdout.split('\n').filter(Boolean);
  if (proto === 'ping') return lines.filter((l) => l.startsWith('icmp'));
  return lines.filter((l) => l.includes(`sport=${port} `) || l.includes(`dport=${port} `));
}

interface CapturedLine {
  readonly time: number;
  readonly host: string;
  readonly text: string;
}

async function capture(
  lab: LabInstance,
  host: string,
  filter: string,
): Promise<{ stop(): Promise<CapturedLine[]> }> {
  const child = spawn(
    'ip',
    ['netns', 'exec', lab.ns(host), 'tcpdump', '-i', 'any', '-n', '-e', '-l', '-tt', filter],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const untrack = child.pid === undefined ? () => {} : lab.track(child.pid);
  child.on('exit', untrack);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        const done = () =>
          resolve(
            out
              .split('\n')
              .filter(Boolean)
              .map((line) => {
                const [time, ...rest] = line.split(' ');
                return { time: Number(time), host, text: tidy(rest.join(' ')) };
              }),
          );
        if (child.exitCode !== null) return done();
        child.on('exit', done);
        child.kill('SIGINT');
      }),
  };
}

/** tcpdump -i any -e: keep interface, direction, MAC, addresses and flags; drop sequence numbers and options. */
function tidy(text: string): string {
  return text
    .replace(/\s+ifindex \d+/, '')
    .replace(/ ethertype (IPv4|ARP) \(0x[0-9a-f]+\), length \d+:/, '')
    .replace(/, (seq [\d:]+|ack \d+|win \d+|options \[[^\]]*\])/g, '')
    .replace(/\s+/g, ' ');
}
