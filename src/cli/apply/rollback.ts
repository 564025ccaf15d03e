// convergent rollback: the unfinished or unconfirmed apply undone (its checkpoint applied). The
// watchdog of `apply --confirm-within` is this command too: `rollback --at DEADLINE --id ID`, which
// waits for the deadline and rolls back unless the apply was confirmed (apply/watchdog.ts).
import type { Command } from '@commander-js/extra-typings';
import { rollback } from '../../apply/engine.ts';
import { endWatchdog, watch } from '../../apply/watchdog.ts';
import { action, UsageError } from '../errors.ts';
import { cliHooks, hostIO, hostParts, needHost, ROOT_HELP, STATE_HELP } from './common.ts';

export function rollbackCommand(program: Command): void {
  program
    .command('rollback')
    .description('undo the apply that is unfinished or awaits confirmation: restore its checkpoint')
    .option('--at <time>', "the watchdog's deadline (ISO time): wait for it, then roll back unless confirmed")
    .option('--id <id>', 'the apply the watchdog guards (with --at)')
    .option('--state <dir>', STATE_HELP)
    .option('--root <dir>', ROOT_HELP)
    .action(
      action(async (options) => {
        const io = hostIO(options);
        needHost('rollback');
        if (options.at !== undefined || options.id !== undefined) {
          const at = new Date(options.at ?? '');
          if (options.id === undefined || Number.isNaN(at.getTime()))
            throw new UsageError(
              '--at and --id go together (the watchdog form)',
              'rollback --at ISO-TIME --id ID',
            );
          const stamp = (l: string) =>
            process.stdout.write(`${new Date().toISOString()} watchdog ${options.id}: ${l}\n`);
          stamp(`rolls back unless confirmed in the window that starts once the apply is healthy`);
          // No signal handlers: `apply --confirm` ends the watchdog with SIGTERM (never mid-rollback: it
          // holds the lock then).
          const hooks = { say: stamp, interrupted: () => undefined, endWatchdog };
          const out = await watch(io, hostParts(), hooks, options.id, at);
          stamp(out?.kind === 'rolled-back' ? 'rolled back' : 'confirmed or replaced: nothing to do');
          return;
        }
        needHost('rollback');
        const out = await rollback(io, hostParts(), cliHooks());
        if (out.kind === 'nothing-to-roll-back')
          process.stdout.write('nothing to roll back: no apply is unfinished or awaits confirmation\n');
        else process.stdout.write('rolled back to the state before the last apply\n');
      }),
    );
}
