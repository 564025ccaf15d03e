// convergent apply FILE --node N [--confirm-within 60s] [--dry-run]: this host made into its node of
// the spec; convergent apply --confirm: keep an apply that awaits confirmation. With --confirm-within,
// a watchdog started before the first change rolls back unless confirmed in time; a failed health
// check rolls back at once (exit 6, EXIT.rolledBack), as does any failed command or an interrupt.
import type { Command } from '@commander-js/extra-typings';
import { changeLine } from '../../apply/change.ts';
import { apply, confirm, diff, type Outcome } from '../../apply/engine.ts';
import { ApplyError } from '../../apply/errors.ts';
import { healthHooks } from '../../apply/health.ts';
import { lastRolledBack } from '../../apply/rolled-back.ts';
import { selfArgv, startWatchdog } from '../../apply/watchdog.ts';
import { action, EXIT, UsageError } from '../errors.ts';
import { cliHooks, hostIO, hostParts, needHost, nodeTarget, ROOT_HELP, STATE_HELP } from './common.ts';

/** "60s", "2m", "90" (seconds) -> ms. */
export function parseWindow(text: string): number {
  const m = /^(\d+)(s|m)?$/.exec(text.trim());
  const n = m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : 0;
  if (n < 1 || n > 86_400)
    throw new UsageError(`--confirm-within "${text}" is not a time`, 'give seconds or minutes: 60s, 2m');
  return n * 1000;
}

export function applyCommand(program: Command): void {
  program
    .command('apply')
    .description('make this host its node of the spec; --confirm keeps an apply awaiting confirmation')
    .argument('[file]', 'cluster spec (YAML)')
    .option('--node <name>', 'the node this host is')
    .option('--confirm-within <time>', 'roll back unless `apply --confirm` comes within this time (60s, 2m)')
    .option('--confirm', 'keep the apply that awaits confirmation (ends its watchdog)')
    .option('--dry-run', 'print the changes and their commands; change nothing')
    .option('--state <dir>', STATE_HELP)
    .option('--root <dir>', ROOT_HELP)
    .action(
      action(async (file, options) => {
        const io = hostIO(options);
        if (options.confirm) {
          if (file !== undefined || options.node !== undefined)
            throw new UsageError('--confirm takes no spec nor --node', 'convergent apply --confirm');
          needHost('apply --confirm', []);
          return confirmed(await confirm(io, cliHooks()), io.stateDir);
        }
        if (file === undefined || options.node === undefined)
          throw new UsageError('apply needs a spec and the node', 'convergent apply FILE --node NODE');
        const window = options.confirmWithin === undefined ? undefined : parseWindow(options.confirmWithin);
        const { desired, health } = nodeTarget(file, options.node);
        needHost('apply', window === undefined ? ['ip', 'nft'] : ['ip', 'nft', 'ping']);
        if (options.dryRun) return dryRun(diff(io, hostParts(), desired));
        const hooks = cliHooks({
          startWatchdog: (id, deadline) => startWatchdog(io, selfArgv(), id, deadline),
          ...healthHooks(io.run, health, (line) => process.stdout.write(`${line}\n`)),
        });
        const out = await apply(io, hostParts(), desired, hooks, {
          ...(window === undefined ? {} : { confirmWithinMs: window }),
        });
        said(options.node, out, window);
      }),
    );
}

function dryRun(changes: ReturnType<typeof diff>): void {
  if (changes.length === 0) process.stdout.write('no change\n');
  for (const c of changes) {
    process.stdout.write(`${changeLine(c)}\n`);
    for (const cmd of c.commands) {
      const input = cmd.input === undefined ? '' : `  <<< ${cmd.input.split('\n').length - 1} lines`;
      process.stdout.write(`    $ ${cmd.argv.join(' ')}${input}\n`);
    }
  }
}

function said(node: string, out: Outcome, window: number | undefined): void {
  switch (out.kind) {
    case 'unchanged':
      process.stdout.write(`${node}: no change${window === undefined ? '' : ' (nothing to confirm)'}\n`);
      return;
    case 'applied':
      process.stdout.write(`${node}: applied ${out.changes} change${out.changes === 1 ? '' : 's'}\n`);
      return;
    case 'awaiting':
      process.stdout.write(
        `${node}: applied ${out.changes} change${out.changes === 1 ? '' : 's'}, healthy; confirm with ` +
          `\`convergent apply --confirm\` within ${Math.round((window ?? 0) / 1000)} s ` +
          `(by ${out.deadline.toISOString()}) or it is rolled back\n`,
      );
      return;
    case 'rolled-back':
      process.stderr.write(`${node}: rolled back to the state before: ${out.why}\n`);
      process.exitCode = EXIT.rolledBack;
      return;
    case 'nothing-to-roll-back':
      return;
  }
}

/** `apply --confirm` when nothing awaits: a rollback came first (exit 6), or there was never a window (7). */
function notAwaiting(stateDir: string): void {
  const rolled = lastRolledBack(stateDir);
  if (rolled !== undefined) {
    process.stderr.write(
      `convergent: nothing to confirm: the apply ${rolled.id} of ${rolled.node} was rolled back at ` +
        `${rolled.time}: ${rolled.why}\n`,
    );
    process.exitCode = EXIT.rolledBack;
    return;
  }
  process.stderr.write(
    'convergent: nothing to confirm: no apply awaits confirmation (none ran with --confirm-within, ' +
      'or it was confirmed already)\n',
  );
  process.exitCode = EXIT.nothingToConfirm;
}

function confirmed(journal: Awaited<ReturnType<typeof confirm>>, stateDir: string): void {
  if (journal === undefined) {
    notAwaiting(stateDir);
    return;
  }
  if (journal.phase !== 'awaiting')
    throw new ApplyError(
      'failed',
      `the apply ${journal.id} of ${journal.node} did not finish (${journal.phase}): there is nothing to confirm`,
      'complete it with `convergent apply FILE --node NODE`, or undo it with `convergent rollback`',
    );
  process.stdout.write(`confirmed: ${journal.node} keeps the apply ${journal.id}\n`);
}
