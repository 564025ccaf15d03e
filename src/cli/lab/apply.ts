// convergent lab apply FILE: apply a changed spec to a lab that is up (guests move, rulesets reload).
import { readFileSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { SpecError } from '../../input/problem.ts';
import { LabError } from '../../lab/errors.ts';
import { type AnySystem, loadSpec } from '../../systems/registry.ts';
import { VM_RUN } from '../../vm/initramfs.ts';
import type { VmLabEntry } from '../../vm/resident.ts';
import { action, UsageError } from '../errors.ts';
import { faultsOf, needRoot, progress } from './common.ts';
import { inVm, labSystem, selectLab } from './select.ts';

/** A changed spec for `lab apply` on a VM lab, copied into the VM's run directory. */
const APPLIED = 'apply.yaml';

const next = (id: string) => `  next: convergent lab check ${id}\n`;

export function applyCommand(lab: Command): void {
  lab
    .command('apply')
    .description('apply a changed spec to a lab that is up: move guests (migration), reload rulesets')
    .argument('<file>', 'the changed cluster spec (YAML)')
    .option('--lab <lab>', 'lab id or cluster name (default: the only lab up)')
    .action(
      action(async (file, options) => {
        // The spec first: one of a kind that is rebuilt, or a broken one, is refused before any lab is looked at.
        const { system, loaded } = loadSpec(file);
        const { apply } = system.lab;
        if ('lab' in apply)
          throw new SpecError([
            { file, location: loaded.source.locate(['kind']), path: ['kind'], ...apply.spec },
          ]);
        const spec = system.read(loaded);
        needRoot();
        const chosen = selectLab(options.lab);
        if (chosen.vm) return applyInVm(chosen.vm, system, spec, file);
        const { system: running, state } = labSystem(chosen.ns.id, chosen.ns.state);
        if ('lab' in running.lab.apply) throw new UsageError(running.lab.apply.lab);
        if (running !== system)
          throw new UsageError(
            `lab ${state.id} is a ${running.title} lab; ${file} is a ${system.title} spec`,
          );
        const moves = await running.lab.apply.apply(state, file, faultsOf(state.faults), progress);
        process.stdout.write(`${moves.join('\n')}\n${next(state.id)}`);
      }),
    );
}

/** The VM's own `lab apply`, on the changed spec compiled here first with the lab's faults. */
async function applyInVm(vm: VmLabEntry, system: AnySystem, spec: unknown, file: string): Promise<void> {
  system.lab.prepare(spec, file, faultsOf(vm.record?.faults ?? []), {});
  const r = await inVm(vm, ['lab', 'apply', `${VM_RUN}/${APPLIED}`], {
    [APPLIED]: readFileSync(file, 'utf8'),
  });
  if (r.code !== 0)
    throw new LabError(`lab apply in the VM of ${vm.id} failed (exit ${r.code}); its output is above`);
  // Its "next:" line names the lab inside the VM.
  const moves = r.stdout.split('\n').filter((l) => l !== '' && !l.trimStart().startsWith('next:'));
  process.stdout.write(`${moves.join('\n')}\n${next(vm.id)}`);
}
