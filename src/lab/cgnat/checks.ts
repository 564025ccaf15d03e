// The CGNAT spec's checks with real clients: ping, and probe.py for TCP and UDP (both families,
// bound to a source address or port where the check says). A check from several clients runs them
// at the same moment: the demo's identical tuples from two tenants, in flight together.
import { join } from 'node:path';
import { blockOf } from '../../compile/cgnat/blocks.ts';
import type { CgnatCheck } from '../../spec/cgnat/model.ts';
import { formatPath } from '../../spec/problem.ts';
import { formatIPv4, parseIPv4 } from '../../util/ipv4.ts';
import { AGENT_DIR, PYTHON } from '../build.ts';
import type { CheckResult, LabReport } from '../lab.ts';
import { realAsyncRunner } from '../run.ts';
import type { CgnatLab } from './build.ts';

interface Outcome {
  readonly answered?: string;
  readonly saw?: string;
  readonly replyFrom?: string;
  readonly ms?: number;
  readonly tries?: number;
  readonly error?: string;
}

const BANNER = /^(\S+) saw (\S+):(\d+)$/;

async function probe(lab: CgnatLab, check: CgnatCheck, from: string, port: number): Promise<Outcome> {
  const { cgnat } = lab;
  const together = check.from.length > 1;
  const inHost = (argv: string[]) =>
    realAsyncRunner(['ip', 'netns', 'exec', lab.ns(from), ...argv], { timeoutMs: 10_000 });
  const to = check.to.text;
  if (check.proto === 'ping') {
    // The router's own ping leaves from its uplink VRF (the demo's "ping in up").
    const device = from === cgnat.router && cgnat.backend === 'vrf' ? cgnat.uplink.vrf : check.source?.text;
    const r = await inHost(['ping', '-c', '1', '-W', '2', '-n', ...(device ? ['-I', device] : []), to]);
    const ms = /time=([\d.]+) ms/.exec(r.stdout)?.[1];
    return r.code === 0
      ? { replyFrom: to, ms: ms === undefined ? undefined : Number(ms) }
      : {
          error: r.stdout.includes('100% packet loss')
            ? 'no reply'
            : r.stderr.trim() || `ping exited ${r.code}`,
        };
  }
  const r = await inHost([
    PYTHON,
    join(AGENT_DIR, 'probe.py'),
    check.proto,
    to,
    String(check.port),
    String(port),
    // Several clients at once: each TCP client holds its connection past the others' connect timeout
    // (3 s), so the flows overlap for sure and a client that cannot get its own flow fails.
    ...(check.source || together ? [check.source?.text ?? ''] : []),
    ...(together && check.proto === 'tcp' ? ['3.5'] : []),
  ]);
  let out: { banner?: string; replyFrom?: string; ms?: number; tries?: number; error?: string };
  try {
    out = JSON.parse(r.stdout);
  } catch {
    return { error: r.stderr.trim() || `probe exited ${r.code}` };
  }
  if (out.error) return { error: out.error };
  const m = BANNER.exec(out.banner ?? '');
  return {
    answered: m?.[1],
    saw: m ? `${m[2]}:${m[3]}` : undefined,
    replyFrom: out.replyFrom,
    ms: out.ms,
    tries: out.tries,
  };
}

/** What is wrong with an outcome, in the words of the check. */
function judge(lab: CgnatLab, check: CgnatCheck, from: string, o: Outcome): string[] {
  if (!check.expect.reaches)
    return o.error ? [] : [`expected no answer, but ${o.answered ?? o.replyFrom} answered`];
  if (o.error) return [`no answer: ${o.error}`];
  const sees = check.expect.sees;
  if (sees === undefined || o.saw === undefined) return [];
  const [address, port] = [
    o.saw.slice(0, o.saw.lastIndexOf(':')),
    Number(o.saw.slice(o.saw.lastIndexOf(':') + 1)),
  ];
  if (sees !== 'nat') return address === sees.text ? [] : [`the server saw ${o.saw}, expected ${sees.text}`];
  const entry = lab.clients.get(from);
  const v4 = entry?.client.addresses.find((a) => a.family === 4);
  const block = entry && v4 ? blockOf(lab.cgnat, entry.tenant, parseIPv4(v4.text) as number) : undefined;
  if (!block) return [`${from} has no port block`];
  const want = `${formatIPv4(block.public)} ports ${block.firstPort}-${block.lastPort}`;
  return address === formatIPv4(block.public) && port >= block.firstPort && port <= block.lastPort
    ? []
    : [`the server saw ${o.saw}, not ${from}'s public address and block (${want})`];
}

const MAX_EVIDENCE = 3;

async function routerConntrack(lab: CgnatLab, check: CgnatCheck): Promise<string[]> {
  const r = await realAsyncRunner(['ip', 'netns', 'exec', lab.ns(lab.cgnat.router), 'conntrack', '-L']);
  return r.stdout
    .split('\n')
    .filter((l) => l.includes(`dst=${check.to.text} `) || l.includes(`src=${check.to.text} `));
}

export async function runCgnatChecks(lab: CgnatLab, say: (line: string) => void): Promise<LabReport> {
  const checks = lab.cgnat.checks ?? [];
  say(`running ${checks.length} checks`);
  let next = 20000;
  let investigated = 0;
  const results: CheckResult[] = [];
  // One check at a time: two checks from the same client and port must not meet in conntrack.
  for (const check of checks) {
    const port = check.sourcePort ?? next++;
    const outcomes = await Promise.all(check.from.map((from) => probe(lab, check, from, port)));
    // A failure's evidence: the router's conntrack entries toward the check's destination, taken at
    // once (the demo's failure shows there: one entry where two tenants' flows should be).
    const failing = check.from.some((from, i) => judge(lab, check, from, outcomes[i] as Outcome).length > 0);
    const conntrack =
      failing && investigated++ < MAX_EVIDENCE ? await routerConntrack(lab, check) : undefined;
    check.from.forEach((from, i) => {
      const o = outcomes[i] as Outcome;
      const problems = judge(lab, check, from, o);
      results.push({
        name: check.from.length > 1 ? `${check.name} [${from}]` : check.name,
        source: formatPath(check.path),
        proto: check.proto,
        from,
        to: check.to.text,
        port: check.port,
        passed: problems.length === 0,
        problems,
        ...o,
        clientPort: port,
        ...(problems.length > 0 && conntrack
          ? {
              evidence: {
                clientPort: port,
                outcome: o,
                note: `the router's conntrack entries toward ${check.to.text}, right after the check:`,
                wire: [],
                nodes: [{ node: lab.cgnat.router, conntrack, counters: [] }],
              },
            }
          : {}),
      });
    });
  }
  const failed = results.filter((r) => !r.passed).length;
  return {
    lab: lab.run.id,
    cluster: lab.cgnat.name,
    faults: [],
    derived: false,
    passed: results.length - failed,
    failed,
    results,
  };
}
