// `lab test` of a CGNAT spec: build the router, its peer and the clients, run the checks, remove it all.
import type { Fault } from '../../compile/faults.ts';
import type { Backend, Cgnat } from '../../spec/cgnat/model.ts';
import type { LabReport } from '../lab.ts';
import { buildCgnatLab } from './build.ts';
import { runCgnatChecks } from './checks.ts';

export interface CgnatLabOptions {
  readonly progress: (line: string) => void;
  /** Run the spec on the other backend: the same checks must pass on both. */
  readonly backend?: Backend;
  readonly faults?: readonly Fault[];
}

export async function cgnatLabTest(c: Cgnat, options: CgnatLabOptions): Promise<LabReport> {
  const cgnat = options.backend ? { ...c, backend: options.backend } : c;
  const faults = options.faults ?? [];
  const lab = await buildCgnatLab(cgnat, options.progress, faults);
  try {
    return { ...(await runCgnatChecks(lab, options.progress)), faults };
  } finally {
    lab.run.cleanup();
  }
}
