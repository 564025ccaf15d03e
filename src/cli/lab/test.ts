// convergent lab test FILE: bring the lab up, run every check, tear it down.
import type { Command } from '@commander-js/extra-typings';
import { exitIfInterrupted } from '../../lab/interrupt.ts';
import { FAULTS } from '../../systems/faults.ts';
import { pickKernels } from '../../vm/kernel.ts';
import { action } from '../errors.ts';
import { collect, progress } from './common.ts';
import { startLab } from './prepare.ts';
import { printReport } from './report.ts';
import { vmTest } from './vm-test.ts';

export function testCommand(lab: Command): void {
  lab
    .command('test')
    .description('bring the lab up, run every check, tear it down; exit 0 only if all pass')
    .argument('<file>', 'cluster spec (YAML)')
    .option('--fault <name>', `inject a known mistake (${Object.keys(FAULTS).join(', ')})`, collect, [])
    .option(
      '--cut <node>',
      'then cut this node off (uplink and pipes down) and run the checks that do not need it',
    )
    .option('--json', 'print the report as JSON on stdout')
    .option('--vm', 'run the lab inside a VM booting a Debian kernel (qemu), not on this kernel')
    .option(
      '--kernel <version>',
      'with --vm: the kernel (e.g. 6.1); repeat for a table over kernels',
      collect,
      [],
    )
    .option('--backend <backend>', 'a CGNAT spec: run it on this backend instead (vrf or netns)')
    .action(
      action(async (file, options) => {
        const flags = { cut: options.cut, backend: options.backend };
        const json = options.json === true;
        const { prepared, faults } = startLab(file, flags, {
          ...options,
          kernel: options.kernel.length > 0,
        });
        if (options.vm) {
          await vmTest(prepared.vm(), { kernels: pickKernels(options.kernel), faults, ...flags, json });
          return;
        }
        const report = await prepared.test(progress);
        exitIfInterrupted();
        printReport(report, json);
      }),
    );
}
