// The first steps of `lab test` and `lab up`: the spec, its system's flags and faults, root and tools.

import type { Fault } from '../../systems/faults.ts';
import { readSpec } from '../../systems/registry.ts';
import type { LabFlags, PreparedLab } from '../../systems/system.ts';
import { UsageError } from '../errors.ts';
import { faultsOf, needLab, progress } from './common.ts';

export interface LabStart {
  readonly prepared: PreparedLab;
  readonly faults: readonly Fault[];
}

/** Everything that can be refused before a lab is built (here or in a VM), in the user's order. */
export function startLab(
  file: string,
  flags: LabFlags,
  options: { fault: readonly string[]; vm?: true; kernel: boolean },
): LabStart {
  const read = readSpec(file);
  const { system, spec } = read;
  const problem = system.lab.flagProblem(spec, flags);
  if (problem !== undefined) throw new UsageError(problem);
  const faults = faultsOf(options.fault, read);
  if (options.kernel && !options.vm) throw new UsageError('--kernel goes with --vm');
  const prepared = system.lab.prepare(spec, file, faults, flags);
  const { needs, plans } = prepared.needs(options.vm === true);
  needLab(needs, plans);
  for (const line of prepared.topology) progress(line);
  return { prepared, faults };
}
