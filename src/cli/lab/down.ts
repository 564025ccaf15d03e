// convergent lab down [LAB] [--all]: remove a lab: its processes, namespaces and state.
import type { Command } from '@commander-js/extra-typings';
import { listLabs, removableByAll, removeLab } from '../../lab/registry.ts';
import { realRunner } from '../../lab/run.ts';
import { listVmLabs, removeVmLab } from '../../vm/resident.ts';
import { action } from '../errors.ts';
import { needRoot } from './common.ts';
import { type AnyLab, selectLab } from './select.ts';

export function downCommand(lab: Command): void {
  lab
    .command('down')
    .description('remove a lab: its processes, namespaces and state')
    .argument('[lab]', 'lab id or cluster name (default: the only lab up)')
    .option('--all', 'remove every lab and the leftovers of crashed runs (not runs still in progress)')
    .action(
      action((selector, options) => {
        needRoot();
        const doomed: AnyLab[] = options.all
          ? [
              ...removableByAll(listLabs(realRunner)).map((ns) => ({ ns })),
              ...listVmLabs()
                .filter((l) => !l.creatorAlive)
                .map((vm) => ({ vm })),
            ]
          : [selectLab(selector, true)];
        for (const { ns, vm } of doomed) {
          if (ns) removeLab(ns, realRunner);
          if (vm) removeVmLab(vm);
          const name = ns ? ns.state?.name : vm?.record?.name;
          process.stderr.write(
            `removed ${(ns ?? vm)?.id}${name ? ` (${name}${vm ? `, its VM ended` : ''})` : ' (leftover)'}\n`,
          );
        }
        if (doomed.length === 0) process.stderr.write('no lab to remove\n');
      }),
    );
}
