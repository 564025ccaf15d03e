// What a client in the lab got back, whatever system it probes, and why a client gave nothing.
import { seconds } from './pace.ts';
import type { RunResult } from './run.ts';

export interface Outcome {
  /** The host whose server answered (from its banner), or for arp the nodes whose MACs answered. */
  readonly answered?: string;
  /** The source address the server saw. */
  readonly saw?: string;
  /** Where the reply came from, as the client saw it: "address:port" (ping: the address). */
  readonly replyFrom?: string;
  /** The client's time from its first packet to the answer, in milliseconds. */
  readonly ms?: number;
  /** udp: datagrams sent before the reply came (the client resends each second). */
  readonly tries?: number;
  /** arp: every MAC that answered. */
  readonly macs?: readonly string[];
  /** The client sent and nothing came back (what a blocked check expects); unset when it could not send. */
  readonly silent?: boolean;
  /** The nodes whose forwarding counter grew while the check ran (a routed network's "via"). */
  readonly forwarded?: readonly string[];
  /** What the client found wrong besides its answer (a foreign address in a neighbour table). */
  readonly findings?: readonly string[];
  /** What a check measured besides its answer (a bond failover's time and lost probes). */
  readonly figures?: Readonly<Record<string, string | number>>;
  readonly error?: string;
}

/**
 * How long the lab lets a client run, its start included, before it stops it, at the usual pace.
 * A client ends on its own timeout well before; this is for a machine too busy to run it at all,
 * and leaves room for load that comes after the pace was measured.
 */
export const CLIENT_LIMIT_MS = 20_000;

/**
 * Why a client gave no result, in words and never empty: the lab stopped it at its limit, a signal
 * ended it, it exited with an error (the last line it wrote to stderr), or it printed no result.
 */
export function clientFailure(client: string, r: RunResult, limitMs: number): string {
  if (r.timedOut) return `${client} had not finished after ${seconds(limitMs)}; the lab stopped it`;
  if (r.signal) return `${client} was ended by ${r.signal}`;
  const said = r.stderr.trim().split('\n').at(-1)?.trim() ?? '';
  if (r.code !== 0)
    return said ? `${client} exited ${r.code}: ${said}` : `${client} exited ${r.code} without a message`;
  const out = r.stdout.trim();
  return out
    ? `${client} printed no result: ${JSON.stringify(out.slice(0, 120))}`
    : `${client} printed nothing${said ? `: ${said}` : ''}`;
}
