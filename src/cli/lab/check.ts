// convergent lab check [LAB]: run the checks again on a lab that is up.
import type { Command } from '@commander-js/extra-typings';
import { LabError } from '../../lab/errors.ts';
import type { LabReport } from '../../lab/result.ts';
import { action, EXIT } from '../errors.ts';
import { faultsOf, needRoot, progress } from './common.ts';
import { printReport } from './report.ts';
import { inVm, labSystem, selectLab } from './select.ts';

export function checkLabCommand(lab: Command): void {
  lab
    .command('check')
    .description('run the checks again on a lab that is up')
    .argument('[lab]', 'lab id or cluster name (default: the only lab up)')
    .option('--json', 'print the report as JSON on stdout')
    .action(
      action(async (selector, options) => {
        needRoot();
        const chosen = selectLab(selector);
        if (chosen.vm) {
          const r = await inVm(chosen.vm, ['lab', 'check', '--json']);
          // The report names the lab inside the VM; the user knows the VM's.
          if (r.code !== EXIT.ok && r.code !== EXIT.failed)
            throw new LabError(
              `lab check in the VM of ${chosen.vm.id} failed (exit ${r.code}); its output is above`,
            );
          printReport({ ...(JSON.parse(r.stdout) as LabReport), lab: chosen.vm.id }, options.json === true);
          return;
        }
        const { system, state } = labSystem(chosen.ns.id, chosen.ns.state);
        const report = await system.lab.check(state, faultsOf(state.faults), progress);
        printReport(report, options.json === true);
      }),
    );
}
