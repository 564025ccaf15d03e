// An interrupt of a lab run (Ctrl-C, kill, a closed terminal), told apart from a failure. Ctrl-C
// reaches the terminal's whole process group: the `ip` or `nft` a step waits for dies of it too,
// and the step fails with an empty reason before this process's own handler has had its turn. So
// the runner notes a child that died of such a signal, and the CLI asks before it reports a failure.
import { constants } from 'node:os';

/** Ctrl-C, kill, and a closed terminal or ssh session. */
export const INTERRUPTS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

let received: NodeJS.Signals | undefined;
const removed: string[] = [];

/** A signal that ends the run: our own handler got it, or a child we waited for died of it. */
export function noteInterrupt(signal: NodeJS.Signals | null): void {
  if (signal && INTERRUPTS.includes(signal)) received ??= signal;
}

export const interrupted = (): NodeJS.Signals | undefined => received;

/** A lab removed after the interrupt, and whatever of it could not be removed. */
export function noteRemoved(id: string, left: readonly string[]): void {
  removed.push(`removed lab ${id} (${left.length === 0 ? 'nothing left' : `left: ${left.join(', ')}`})`);
}

/** After an interrupt: one line saying so and what was removed, then exit 128 + the signal's number. */
export function exitIfInterrupted(): void {
  if (received === undefined) return;
  process.stderr.write(`lab: interrupted by ${received}; ${removed.join('; ') || 'no lab was built yet'}\n`);
  process.exit(128 + constants.signals[received]);
}
