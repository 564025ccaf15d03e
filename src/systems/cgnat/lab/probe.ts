// One flow of the CGNAT lab through probe.py, and what its outcome means: who answered, the source
// the server saw, and whether that is the client's public address and port block.
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import { CLIENT_LIMIT_MS, clientFailure, type Outcome } from '../../../lab/outcome.ts';
import { labPace, paced } from '../../../lab/pace.ts';
import { type RunResult, realAsyncRunner } from '../../../lab/run.ts';
import { formatIPv4, parseIPv4 } from '../../../util/ipv4.ts';
import { blockOf } from '../compile/blocks.ts';
import type { CgnatCheck } from '../model.ts';
import type { CgnatLab } from './build.ts';

const BANNER = /^(\S+) saw (\S+):(\d+)$/;

/** One TCP or UDP exchange through probe.py, from `from`'s namespace. */
export interface Dial {
  readonly proto: 'tcp' | 'udp';
  readonly to: string;
  readonly port: number;
  readonly sport: number;
  readonly source?: string;
  /** Seconds a TCP client keeps its connection after the banner. */
  readonly hold?: number;
}

/** Runs `argv` in `from`'s namespace; the limit (`timeoutMs`, at the usual pace) grows with the lab's pace. */
export const inHost = (lab: CgnatLab, from: string, argv: readonly string[], timeoutMs = CLIENT_LIMIT_MS) =>
  realAsyncRunner(['ip', 'netns', 'exec', lab.ns(from), ...argv], { timeoutMs: paced(timeoutMs) });

export const PROBE = join(AGENT_DIR, 'probe.py');

/** probe.py's JSON answer as an outcome: who answered, and the source it saw. */
export function outcomeOf(r: RunResult, limitMs = paced(CLIENT_LIMIT_MS)): Outcome {
  let out: { banner?: string; replyFrom?: string; ms?: number; tries?: number; error?: string };
  try {
    out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    return { error: clientFailure('probe.py', r, limitMs) };
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

export async function dial(lab: CgnatLab, from: string, d: Dial): Promise<Outcome> {
  const r = await inHost(lab, from, [
    PYTHON,
    PROBE,
    d.proto,
    d.to,
    String(d.port),
    String(d.sport),
    ...(d.source !== undefined || d.hold !== undefined ? [d.source ?? ''] : []),
    // The hold outlasts the other clients' connection timeout, which grows with the pace.
    ...(d.hold !== undefined ? [String(Math.round(d.hold * labPace() * 10) / 10)] : []),
  ]);
  return outcomeOf(r);
}

/** The address and port of "a.b.c.d:p" (or an IPv6 address with its port). */
export function splitEndpoint(endpoint: string): { address: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  return { address: endpoint.slice(0, at), port: Number(endpoint.slice(at + 1)) };
}

/** Whether `saw` is `client`'s public address and a port of its block. */
export function natProblems(lab: CgnatLab, client: string, saw: string): string[] {
  const { address, port } = splitEndpoint(saw);
  const entry = lab.clients.get(client);
  const v4 = entry?.client.addresses.find((a) => a.family === 4);
  const block = entry && v4 ? blockOf(lab.cgnat, entry.tenant, parseIPv4(v4.text) as number) : undefined;
  if (!block) return [`${client} has no port block`];
  const want = `${formatIPv4(block.public)} ports ${block.firstPort}-${block.lastPort}`;
  return address === formatIPv4(block.public) && port >= block.firstPort && port <= block.lastPort
    ? []
    : [`the server saw ${saw}, not ${client}'s public address and block (${want})`];
}

/** What is wrong with an outcome, in the words of the check. */
export function judge(lab: CgnatLab, check: CgnatCheck, from: string, o: Outcome): string[] {
  if (!check.expect.reaches)
    return o.error ? [] : [`expected no answer, but ${o.answered ?? o.replyFrom} answered`];
  if (o.error) return [`no answer: ${o.error}`];
  const sees = check.expect.sees;
  if (sees === undefined || o.saw === undefined) return [];
  if (sees === 'nat') return natProblems(lab, from, o.saw);
  const { address } = splitEndpoint(o.saw);
  return address === sees.text ? [] : [`the server saw ${o.saw}, expected ${sees.text}`];
}
