// NAT behaviours proved with real flows, in RFC 4787/5382 terms (a check's `nat:`):
//   mapping    one source port to several destinations keeps one public address and port (EIM)
//   filtering  once a client has sent from a port, someone else reaches it through the public
//              address and port it got: the peer (endpoint-independent filtering) or another
//              client (hairpinning, seen from that client's own public address and port)
//   limit      a client gets as many flows as its limit (nat.connections, else its port block), and
//              the one after them fails
import { spawn } from 'node:child_process';
import { PYTHON } from '../../../lab/agent.ts';
import type { Outcome } from '../../../lab/outcome.ts';
import { labPace } from '../../../lab/pace.ts';
import { plural } from '../../../util/plural.ts';
import type { FilteringCheck, LimitCheck, MappingCheck, NatCheck } from '../model.ts';
import type { CgnatLab } from './build.ts';
import { dial, inHost, judge, natProblems, outcomeOf, PROBE, splitEndpoint } from './probe.ts';

export interface NatResult {
  readonly outcome: Outcome;
  readonly problems: readonly string[];
  /** The client port of the check's first flow. */
  readonly port: number;
}

/** Source ports for the lab's flows: `take(n)` hands out n consecutive ones. */
export type Ports = (n: number) => number;

export function runNatCheck(lab: CgnatLab, check: NatCheck, ports: Ports): Promise<NatResult> {
  switch (check.kind) {
    case 'mapping':
      return mapping(lab, check, check.sourcePort ?? ports(1));
    case 'filtering':
      return filtering(lab, check, check.sourcePort ?? ports(1), ports);
    case 'limit':
      return limit(lab, check, ports);
  }
}

async function mapping(lab: CgnatLab, check: MappingCheck, sport: number): Promise<NatResult> {
  const from = check.from;
  const destinations = [check.to, ...check.alsoTo];
  const outcomes: Outcome[] = [];
  // One after the other from the same port: the first flow's mapping is there when the next starts.
  for (const to of destinations)
    outcomes.push(await dial(lab, from, { proto: check.proto, to: to.text, port: check.port, sport }));
  const problems = outcomes.flatMap((o, i) =>
    o.error ? [`${destinations[i]?.text}: no answer: ${o.error}`] : [],
  );
  const seen = outcomes.map((o, i) => `${destinations[i]?.text} saw ${o.saw ?? '-'}`);
  const distinct = new Set(outcomes.map((o) => o.saw).filter((s) => s !== undefined));
  if (problems.length === 0 && distinct.size > 1)
    problems.push(`the public address or port changed with the destination (${seen.join(', ')})`);
  // The one mapping is the client's: its public address, a port of its block.
  const saw = outcomes[0]?.saw;
  if (problems.length === 0 && saw) problems.push(...natProblems(lab, from, saw));
  return {
    outcome: {
      answered: outcomes.map((o) => o.answered ?? '-').join(', '),
      saw: [...distinct].join(', '),
      replyFrom: outcomes.map((o) => o.replyFrom ?? '-').join(', '),
      ms: outcomes.reduce((n, o) => n + (o.ms ?? 0), 0),
    },
    problems,
    port: sport,
  };
}

/** Seconds the opening client waits for the second leg: its 3 s timeout, and then some. */
const OPEN_WAIT = 8;

async function filtering(
  lab: CgnatLab,
  check: FilteringCheck,
  sport: number,
  ports: Ports,
): Promise<NatResult> {
  const { from, inbound } = check;
  const opener = openMapping(lab, from, [
    'open',
    check.proto,
    check.to.text,
    String(check.port),
    String(sport),
    from,
    String(OPEN_WAIT),
  ]);
  try {
    const first = outcomeOf({ code: 0, stdout: await opener.first, stderr: '' });
    if (first.error || !first.saw)
      return {
        outcome: first,
        problems: [`${from} got no answer from ${check.to.text}, so no mapping opened: ${first.error}`],
        port: sport,
      };
    const mapped = splitEndpoint(first.saw);
    const second = await dial(lab, inbound.from, {
      proto: check.proto,
      to: mapped.address,
      port: mapped.port,
      sport: ports(1),
      source: inbound.source?.text,
    });
    const problems = judge(lab, check, inbound.from, second);
    if (check.expect.reaches && !second.error && second.answered !== from)
      problems.push(`${second.answered} answered at ${first.saw}, not ${from}`);
    return {
      outcome: second,
      problems,
      port: sport,
    };
  } finally {
    opener.stop();
  }
}

/** probe.py open: its first line once the mapping is open; it then waits for the second leg. */
function openMapping(lab: CgnatLab, from: string, args: readonly string[]) {
  const child = spawn('ip', ['netns', 'exec', lab.ns(from), PYTHON, PROBE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const first = new Promise<string>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.on('close', () => resolve(out.trim() || JSON.stringify({ error: err.trim() || 'probe exited' })));
  });
  return {
    first,
    // Ours, by its PID: the second leg is over, whatever it waits for.
    stop: () => {
      if (child.exitCode === null) child.kill();
    },
  };
}

async function limit(lab: CgnatLab, check: LimitCheck, ports: Ports): Promise<NatResult> {
  const from = check.from;
  const { connections, block } = lab.cgnat.nat;
  const allowed = Math.min(connections ?? block, block);
  const what = connections !== undefined && connections < block ? 'nat.connections' : 'port block';
  // Flows the client still holds from earlier checks count against its limit too (a ping's entry
  // lives 30 s): the check expects what is left of the limit.
  const only = what === 'port block' ? check.proto : undefined;
  let held = await heldFlows(lab, from, only);
  // An entry that ends while the flows open counts here and not in the router: wait it out first
  // (a slow lab, at a higher pace, opens its flows over several seconds).
  const ending = Math.max(0, ...held.ending.filter((s) => s <= LIMIT_WINDOW_S * labPace()));
  if (ending > 0) {
    await new Promise((r) => setTimeout(r, (ending + 1) * 1000));
    held = await heldFlows(lab, from, only);
  }
  const expected = Math.max(allowed - held.count, 0);
  const tried = expected + 1;
  const sport = ports(tried);
  const r = await inHost(
    lab,
    from,
    [PYTHON, PROBE, 'limit', check.proto, check.to.text, String(check.port), String(tried), String(sport)],
    30_000,
  );
  let out: { answered?: number; seen?: string[]; ms?: number; error?: string };
  try {
    out = JSON.parse(r.stdout);
  } catch {
    out = { error: r.stderr.trim() || `probe exited ${r.code}` };
  }
  if (out.error || out.answered === undefined)
    return { outcome: { error: out.error }, problems: [`the probe failed: ${out.error}`], port: sport };
  const earlier = held.count > 0 ? ` less the ${held.count} it still held from earlier checks` : '';
  const problems =
    out.answered === expected
      ? []
      : [
          `${out.answered} of ${plural(tried, 'flow')} were answered, expected ${expected} (the ${what}, ${allowed}${earlier})`,
        ];
  const seen = out.seen ?? [];
  problems.push(...new Set(seen.flatMap((s) => natProblems(lab, from, s))));
  const portsSeen = seen.map((s) => splitEndpoint(s).port);
  const address = seen[0] ? splitEndpoint(seen[0]).address : '-';
  return {
    outcome: {
      answered: `${out.answered} of ${plural(tried, 'flow')}${held.count > 0 ? ` (${held.count} held before)` : ''}`,
      saw: portsSeen.length ? `${address}:${Math.min(...portsSeen)}-${Math.max(...portsSeen)}` : undefined,
      ms: out.ms,
    },
    problems,
    port: sport,
  };
}

/**
 * What the client already holds against the limit, from the router's conntrack: its entries (its
 * address and its tenant's mark, the limit's key) that were NATed, so forwarded. A port block counts the entries of
 * its protocol, closing ones too (their ports stay taken); nf_conncount counts every protocol but
 * skips TCP connections in TIME_WAIT or CLOSE.
 */
async function heldFlows(
  lab: CgnatLab,
  client: string,
  block?: 'tcp' | 'udp',
): Promise<{ count: number; ending: number[] }> {
  const entry = lab.clients.get(client);
  const address = entry?.client.addresses.find((a) => a.family === 4)?.text;
  if (!entry || !address) return { count: 0, ending: [] };
  const r = await inHost(lab, lab.cgnat.router, [
    'conntrack',
    '-L',
    '-s',
    address,
    ...(block ? ['-p', block] : []),
  ]);
  const held = r.stdout.split('\n').filter((line) => {
    const reply = line.slice(line.indexOf('src=', line.indexOf('src=') + 1));
    return (
      line.includes(` mark=${entry.tenant.mark} `) &&
      !reply.includes(`dst=${address} `) &&
      (block !== undefined || !/ (TIME_WAIT|CLOSE) /.test(line))
    );
  });
  // "udp      17 11 src=...": the seconds the entry has left.
  return { count: held.length, ending: held.map((line) => Number(line.trim().split(/\s+/)[2])) };
}

/** The seconds a limit check takes to open its flows at the usual pace: a Python start, then probe.py's 3 s. */
const LIMIT_WINDOW_S = 5;
