// The CGNAT spec's checks with real clients: ping, and probe.py for TCP and UDP (both families,
// bound to a source address or port where the check says). A check from several clients runs them
// together (0.3 s apart): the demo's identical tuples from two tenants, in conntrack at once. A
// check with `nat:` proves a NAT behaviour (behaviours.ts).

import { formatPath } from '../../../input/problem.ts';
import type { Outcome } from '../../../lab/outcome.ts';
import { FIRST_PORT, reservePorts } from '../../../lab/ports.ts';
import type { LabRecord } from '../../../lab/registry.ts';
import type { CheckResult, LabReport } from '../../../lab/result.ts';
import { plural } from '../../../util/plural.ts';
import type { Cgnat, CgnatCheck, FlowCheck, PingCheck } from '../model.ts';
import { type Ports, runNatCheck } from './behaviours.ts';
import type { CgnatLab } from './build.ts';
import { dial, inHost, judge } from './probe.ts';

/**
 * Clients of one check start this far apart: two identical tuples sent within microseconds can race
 * through conntrack's insertion together, and the kernel's clash resolution (UDP, 5.6+) then keeps
 * both, zones or not. Started apart, the later flow meets the earlier one in conntrack, as two
 * subscribers' flows do, and the flows still overlap.
 */
const STAGGER_MS = 300;

async function probe(
  lab: CgnatLab,
  check: PingCheck | FlowCheck,
  from: string,
  port: number,
): Promise<Outcome> {
  const { cgnat } = lab;
  const to = check.to.text;
  if (check.kind === 'ping') {
    // The router's own ping leaves from its uplink VRF (the demo's "ping in up").
    const device = from === cgnat.router && cgnat.backend === 'vrf' ? cgnat.uplink.vrf : check.source?.text;
    const r = await inHost(lab, from, [
      'ping',
      '-c',
      '1',
      '-W',
      '2',
      '-n',
      ...(device ? ['-I', device] : []),
      to,
    ]);
    const ms = /time=([\d.]+) ms/.exec(r.stdout)?.[1];
    return r.code === 0
      ? { replyFrom: to, ms: ms === undefined ? undefined : Number(ms) }
      : {
          error: r.stdout.includes('100% packet loss')
            ? 'no reply'
            : r.stderr.trim() || `ping exited ${r.code}`,
        };
  }
  // Several clients at once: each TCP client holds its connection past the others' connect timeout
  // (3 s, the last one starting later), so the flows overlap for sure and a client that cannot get
  // its own flow fails.
  const together = check.from.length > 1 && check.proto === 'tcp';
  return dial(lab, from, {
    proto: check.proto,
    to,
    port: check.port,
    sport: port,
    source: check.source?.text,
    hold: together ? 3.5 + ((check.from.length - 1) * STAGGER_MS) / 1000 : undefined,
  });
}

const MAX_EVIDENCE = 3;

async function routerConntrack(lab: CgnatLab, check: CgnatCheck): Promise<string[]> {
  const r = await inHost(lab, lab.cgnat.router, ['conntrack', '-L']);
  return r.stdout
    .split('\n')
    .filter((l) => l.includes(`dst=${check.to.text} `) || l.includes(`src=${check.to.text} `));
}

/** Client ports the checks take at most: a limit check one past the limit, filtering two. */
function portsNeeded(c: Cgnat): number {
  const limit = Math.min(c.nat.connections ?? c.nat.block, c.nat.block) + 1;
  const ports = (x: CgnatCheck) => {
    switch (x.kind) {
      case 'limit':
        return limit;
      case 'filtering':
        return 2;
      case 'mapping':
        return 1;
      case 'ping':
      case 'flow':
        return x.from.length;
    }
  };
  return (c.checks ?? []).reduce((n, x) => n + ports(x), 0);
}

/** The clients a check runs from: several at once for a probe; a `nat:` check's one. */
const clientsOf = (check: CgnatCheck): readonly string[] =>
  typeof check.from === 'string' ? [check.from] : check.from;

/** Results a check gives: one per client when several run it at once; a `nat:` check, one. */
const resultsOf = (check: CgnatCheck) => clientsOf(check).length;

/** "21 checks, 23 results (…)": the report counts results, and a check may give several. */
export function describeChecks(checks: readonly CgnatCheck[]): string {
  const results = checks.reduce((n, c) => n + resultsOf(c), 0);
  if (results === checks.length) return plural(checks.length, 'check');
  return `${plural(checks.length, 'check')}, ${plural(results, 'result')} (a check run from several clients at once gives one per client)`;
}

interface Flow {
  readonly from: string;
  readonly outcome: Outcome;
  readonly problems: readonly string[];
  readonly port: number;
}

/** One check's flows: a probe from each of its clients (STAGGER_MS apart), or a NAT behaviour's one. */
async function runCheck(lab: CgnatLab, check: CgnatCheck, take: Ports): Promise<Flow[]> {
  switch (check.kind) {
    case 'mapping':
    case 'filtering':
    case 'limit':
      return [{ from: check.from, ...(await runNatCheck(lab, check, take)) }];
    case 'ping':
    case 'flow':
      return Promise.all(
        check.from.map(async (from, i) => {
          const port = (check.kind === 'flow' ? check.sourcePort : undefined) ?? take(1);
          await new Promise((r) => setTimeout(r, i * STAGGER_MS));
          const outcome = await probe(lab, check, from, port);
          return { from, outcome, problems: judge(lab, check, from, outcome), port };
        }),
      );
  }
}

/**
 * Runs every check once. A lab that `lab up` left running reserves its client ports in its state,
 * so that a second `lab check` does not meet the first one's flows in conntrack.
 */
export async function runCgnatChecks(
  lab: CgnatLab,
  say: (line: string) => void,
  state?: LabRecord,
): Promise<LabReport> {
  const checks = lab.cgnat.checks ?? [];
  say(`running ${describeChecks(checks)}`);
  let counter = FIRST_PORT;
  const next = state ? reservePorts(state, portsNeeded(lab.cgnat)) : () => counter++;
  const take = (n: number) => {
    const first = next();
    for (let i = 1; i < n; i++) next();
    return first;
  };
  let investigated = 0;
  const results: CheckResult[] = [];
  // One check at a time: two checks from the same client and port must not meet in conntrack.
  for (const check of checks) {
    const flows = await runCheck(lab, check, take);
    // A failure's evidence: the router's conntrack entries toward the check's destination, taken at
    // once (the demo's failure shows there: one entry where two tenants' flows should be).
    const failing = flows.some((f) => f.problems.length > 0);
    const conntrack =
      failing && investigated++ < MAX_EVIDENCE ? await routerConntrack(lab, check) : undefined;
    for (const { from, outcome: o, problems, port } of flows) {
      results.push({
        name: clientsOf(check).length > 1 ? `${check.name} [${from}]` : check.name,
        source: formatPath(check.path),
        proto: check.proto,
        from,
        to: check.to.text,
        port: check.kind === 'ping' ? undefined : check.port,
        passed: problems.length === 0,
        problems: [...problems],
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
    }
  }
  const failed = results.filter((r) => !r.passed).length;
  return {
    lab: lab.id,
    cluster: lab.cgnat.name,
    faults: [],
    derived: false,
    passed: results.length - failed,
    failed,
    results,
  };
}
