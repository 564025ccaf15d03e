// Does an established connection survive a change to the cluster (a guest migrating, a node cut
// off)? A client opens a TCP connection and keeps it; the change happens; the client talks on the
// same connection again and the guest must still answer, through the same flow.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import type { Outcome } from '../../../lab/outcome.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { LabInstance } from './build.ts';
import { fromBanner } from './probe.ts';
import type { Probe } from './probes.ts';

export interface HeldConnection {
  /** The answer when the connection was opened. */
  readonly opened: Outcome;
  /** Sends a line on the same connection and reads the answer (or the error). */
  again(): Promise<Outcome>;
  close(): void;
}

function outcomeOf(line: string | undefined): Outcome {
  if (line === undefined) return { error: 'the client ended' };
  const out = JSON.parse(line) as { banner?: string; replyFrom?: string; error?: string };
  if (out.error) return { error: out.error };
  const answer = fromBanner(out.banner ?? '');
  return answer.error ? answer : { ...answer, replyFrom: out.replyFrom };
}

/** Opens a TCP connection as the probe describes (a tcp check) and keeps it open. */
export async function holdConnection(
  lab: LabInstance,
  probe: Probe,
  clientPort: number,
): Promise<HeldConnection> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      lab.ns(probe.client),
      PYTHON,
      join(AGENT_DIR, 'probe.py'),
      'hold',
      formatIPv4(probe.address),
      String(probe.port),
      String(clientPort),
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const untrack = child.pid === undefined ? () => {} : lab.track(child.pid);
  child.on('exit', untrack);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    return outcomeOf(r.done ? undefined : (r.value as string));
  };
  const opened = await next();
  return {
    opened,
    again: async () => {
      child.stdin.write('\n');
      return next();
    },
    close: () => {
      child.stdin.end();
      child.kill();
    },
  };
}
