// convergent lab exec HOST -- COMMAND: run a command inside a host of a lab that is up.
import { spawnSync } from 'node:child_process';
import type { Command } from '@commander-js/extra-typings';
import { REQUIREMENTS, requireLab } from '../../lab/preflight.ts';
import { readState } from '../../lab/registry.ts';
import { action, UsageError } from '../errors.ts';
import { needRoot } from './common.ts';
import { inVm, labSystem, selectLab } from './select.ts';

export function execCommand(lab: Command): void {
  lab
    .command('exec')
    .description('run a command inside a node, guest, the workstation or the upstream router')
    .argument('<host>', 'node, guest, workstation or upstream')
    .argument('<command...>', 'the command, after --')
    .option('--lab <lab>', 'lab id or cluster name (default: the only lab up)')
    .action(
      action(async (host, command, options) => {
        needRoot();
        // `ip netns exec` (iproute2) enters the host's namespace; the command itself is the user's.
        requireLab([{ need: 'ip', why: REQUIREMENTS.ip.for }]);
        const chosen = selectLab(options.lab);
        if (chosen.vm) {
          // In the VM the command's output comes back when it ends; no terminal, no input.
          const r = await inVm(chosen.vm, ['lab', 'exec', host, '--', ...command], {}, (l) =>
            process.stderr.write(`${l}\n`),
          );
          process.stdout.write(r.stdout);
          process.exitCode = r.code;
          return;
        }
        const record = readState(chosen.ns.id);
        const ns = record?.hosts[host]?.ns;
        if (!record || !ns)
          throw new UsageError(
            `no host "${host}" in the lab; hosts: ${Object.keys(record?.hosts ?? {}).join(', ')}`,
          );
        const { system, state } = labSystem(record.id, record);
        const [cmd, ...args] = system.lab.execArgv(state, host, ns, command);
        const r = spawnSync(cmd as string, args, { stdio: 'inherit' });
        process.exitCode = r.status ?? 1;
      }),
    );
}
