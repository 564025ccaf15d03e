// `lab test --vm`: one kernel prints the lab's own report; several, a table over them.

import { LabError } from '../../lab/errors.ts';
import { failures } from '../../lab/report.ts';
import type { LabFlags } from '../../systems/system.ts';
import type { Kernel } from '../../vm/kernel.ts';
import { type VmLabReport, type VmSpec, vmLabTest } from '../../vm/lab.ts';
import { formatMatrix, type KernelRun } from '../../vm/matrix.ts';
import { EXIT } from '../errors.ts';
import { progress } from './common.ts';
import { printReport } from './report.ts';

export interface VmTestOptions extends LabFlags {
  readonly kernels: readonly Kernel[];
  readonly faults: readonly string[];
  readonly json: boolean;
}

export async function vmTest(p: VmSpec, o: VmTestOptions): Promise<void> {
  const runs: KernelRun[] = [];
  for (const kernel of o.kernels) {
    progress(`booting kernel ${kernel.version} in a VM (qemu)`);
    try {
      const report = await vmLabTest(p, {
        kernel,
        faults: o.faults,
        cut: o.cut,
        backend: o.backend,
        progress: (l) => progress(`[${kernel.version}] ${l}`),
      });
      progress(
        `kernel ${kernel.version}: VM booted in ${(report.vm.bootMs / 1000).toFixed(1)} s, ${(report.vm.totalMs / 1000).toFixed(1)} s in all`,
      );
      runs.push({ kernel: kernel.version, report });
    } catch (err) {
      // One kernel that cannot run the lab does not hide the others' results.
      if (o.kernels.length === 1 || !(err instanceof LabError)) throw err;
      progress(`kernel ${kernel.version}: ${err.message}`);
      runs.push({ kernel: kernel.version, error: err.message });
    }
  }
  if (runs.length === 1) return printReport(runs[0]?.report as VmLabReport, o.json);
  process.stdout.write(o.json ? `${JSON.stringify(runs, null, 2)}\n` : formatMatrix(runs));
  process.exitCode = runs.some((r) => r.error)
    ? EXIT.lab
    : runs.every((r) => r.report && failures(r.report) === 0)
      ? EXIT.ok
      : EXIT.failed;
}
