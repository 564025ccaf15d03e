// Waiting for a lab to settle: bridge ports that forward, and any other condition polled until
// nothing is left waiting.
import { LabError } from './errors.ts';
import { paced, seconds } from './pace.ts';
import { type Runner, runChecked } from './run.ts';

interface PortState {
  readonly ifname: string;
  readonly master?: string;
  readonly state?: string;
}

/** The bridge ports of a namespace and their STP states (`bridge -n` enters it itself). */
export function bridgePorts(runner: Runner, ns: string): PortState[] {
  return JSON.parse(runChecked(runner, ['bridge', '-n', ns, '-j', 'link', 'show']) || '[]') as PortState[];
}

/** Bridge ports in a namespace that do not forward yet (but those of `skip` bridges), as "host port (state)". */
export function portsNotForwarding(
  runner: Runner,
  ns: string,
  host: string,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  return bridgePorts(runner, ns)
    .filter((p) => p.master !== undefined && !skip.has(p.master) && p.state !== 'forwarding')
    .map((p) => `${host} ${p.ifname} (${p.state})`);
}

/** Polls until nothing is `waiting`; after 10 s (at the lab's pace), a LabError naming what still is. */
export async function waitUntilSettled(
  what: string,
  everyMs: number,
  waiting: () => string[] | Promise<string[]>,
): Promise<void> {
  const limit = paced(10_000);
  const deadline = Date.now() + limit;
  for (;;) {
    const left = await waiting();
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new LabError(`${what} after ${seconds(limit)}: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
