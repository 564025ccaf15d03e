// What the lab commands share: progress lines, root and tools first, faults by name.
import type { HostPlan } from '../../host/plan.ts';
import { LabError } from '../../lab/errors.ts';
import { type Reason, requireLab } from '../../lab/preflight.ts';
import { FAULTS, type Fault, isFault, whyNot } from '../../systems/faults.ts';
import type { Read } from '../../systems/registry.ts';
import { UsageError } from '../errors.ts';

export const progress = (line: string) => process.stderr.write(`lab: ${line}\n`);

export const collect = (value: string, previous: string[]) => [...previous, value];

/** Known faults; with a spec, only those that change something in it (a usage error names those). */
export function faultsOf(names: readonly string[], read?: Read): Fault[] {
  for (const n of names)
    if (!isFault(n)) throw new UsageError(`unknown fault "${n}"; faults: ${Object.keys(FAULTS).join(', ')}`);
  const faults = names as Fault[];
  if (!read) return faults;
  for (const f of faults) {
    const why = whyNot(f, read);
    if (why === undefined) continue;
    const fit = read.system.faults(read.spec);
    throw new UsageError(
      `fault ${f} does nothing to ${read.system.name(read.spec)}: ${why}; ${fit.length > 0 ? `faults for this spec: ${fit.join(', ')}` : 'this spec takes no fault'}`,
    );
  }
  return faults;
}

export function needRoot(): void {
  if (process.getuid?.() !== 0)
    throw new LabError('the lab creates network namespaces and needs root: run it with sudo, or as root');
}

/** Root, then every tool (and on this kernel, module) the lab runs: refused before it creates anything. */
export function needLab(needs: readonly Reason[], plans: readonly HostPlan[] = []): void {
  needRoot();
  requireLab(needs, plans);
}
