// What diff, apply and rollback share: the node's target from the spec, where the host's state lives,
// the parts of the host, and what the host must have (root, tools).
import { resolve } from 'node:path';
import type { AnyPart, Hooks } from '../../apply/engine.ts';
import { ApplyError } from '../../apply/errors.ts';
import { systemdReload } from '../../apply/files.ts';
import type { HostIO } from '../../apply/part.ts';
import { partsOf } from '../../apply/parts.ts';
import { DEFAULT_STATE_DIR } from '../../apply/state.ts';
import { endWatchdog } from '../../apply/watchdog.ts';
import { INTERRUPTS, interrupted, noteInterrupt } from '../../lab/interrupt.ts';
import { installLine, missingOf, type Need, reasons } from '../../lab/preflight.ts';
import { realRunner } from '../../lab/run.ts';
import { readSpec } from '../../systems/registry.ts';
import type { ApplyTarget } from '../../systems/system.ts';
import { UsageError } from '../errors.ts';

/** --state and --root, as each of the three takes them. */
export interface HostOptions {
  readonly state?: string;
  readonly root?: string;
}

export const STATE_HELP = `where convergent keeps what it applied, the journal and the checkpoint (default ${DEFAULT_STATE_DIR})`;
export const ROOT_HELP =
  'install the files under this directory instead of / (etc/convergent/, etc/haproxy/, ...)';

export function hostIO(options: HostOptions): HostIO {
  return {
    run: realRunner,
    root: resolve(options.root ?? '/'),
    stateDir: resolve(options.state ?? DEFAULT_STATE_DIR),
  };
}

/**
 * The parts of a host. diff and apply both compare every nft element with the host's (0.75 s at
 * 20,000): what diff finds changed by hand, apply puts back. The lab, which alone changes its
 * namespaces, plans from the record.
 */
export function hostParts(): AnyPart[] {
  return partsOf(systemdReload, { elements: true });
}

/** Root, and the tools the engine runs; named with their Debian packages. */
export function needHost(what: string, tools: readonly Need[] = ['ip', 'nft']): void {
  if (process.getuid?.() !== 0)
    throw new ApplyError(
      'needs',
      `${what} reads and changes this host's network (nft, ip): it needs root`,
      'run it as root (sudo convergent ...)',
    );
  const missing = missingOf(reasons(tools));
  if (missing.length > 0)
    throw new ApplyError(
      'needs',
      `missing on this host: ${missing.map((m) => m.need).join(', ')}`,
      installLine(missing.map((m) => m.need)),
    );
}

/** The node of the spec, as apply makes it; a node the spec has not, or a kind apply does not take, is a usage error. */
export function nodeTarget(file: string, node: string): ApplyTarget {
  const { system, spec } = readSpec(file);
  const target = system.applyTarget(spec, node, file);
  if ('refused' in target) throw new UsageError(target.refused, target.fix);
  return target;
}

/** The engine's hooks for a command line: lines on stdout, Ctrl-C and kill noted between commands. */
export function cliHooks(extra: Partial<Hooks> = {}): Hooks {
  for (const signal of INTERRUPTS) process.on(signal, () => noteInterrupt(signal));
  return {
    say: (line) => process.stdout.write(`${line}\n`),
    interrupted,
    endWatchdog,
    ...extra,
  };
}
