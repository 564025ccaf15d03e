// How the CLI ends: exit status 0 success, 1 invalid input (the spec), 2 usage error,
// 3 lab checks failed, or apply refused a change (a foreign port on a stale bridge) or could not
// roll back (the host is between states),
// 4 the lab could not be built or the host lacks what apply needs (no root, a tool or kernel feature
// missing), 5 `diff`: the host differs from the spec, 6 `apply`: rolled back (a failed command or
// health check, an interrupt; for `apply --confirm`: the apply to confirm was rolled back already),
// 7 `apply --confirm`: no apply awaits confirmation.
// User mistakes are printed as located messages, never as stack traces.

import { ApplyError } from '../apply/errors.ts';
import { HostRefusal } from '../apply/host/commands.ts';
import { escapeControls, formatProblem, SpecError } from '../input/problem.ts';
import { LabError } from '../lab/errors.ts';
import { exitIfInterrupted } from '../lab/interrupt.ts';
import { plural } from '../util/plural.ts';
import { colorsFor } from './color.ts';

export const EXIT = {
  ok: 0,
  invalid: 1,
  usage: 2,
  failed: 3,
  lab: 4,
  differs: 5,
  rolledBack: 6,
  nothingToConfirm: 7,
} as const;

/**
 * A reader that closes the pipe early (`convergent cgnat export … | head`) ends the command as it
 * would end cat: quietly, with 128 + SIGPIPE, instead of an unhandled EPIPE and Node's stack trace.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(141);
    });
}

/** A mistake in the command line (or what it names, like --out): the message, and how to fix it. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly fix: string | undefined;
  constructor(message: string, fix?: string) {
    super(message);
    this.fix = fix;
  }
}

/** Ends the command on an error; `outcome` says what did not happen, when the command had effects ("nothing was written"). */
export function reportAndExit(err: unknown, outcome?: string): never {
  if (err instanceof SpecError) {
    for (const p of err.problems) process.stderr.write(`${colorProblem(formatProblem(p))}\n`);
    const found = `${plural(err.problems.length, 'problem')} found`;
    process.stderr.write(`${outcome ? `${found}; ${outcome}` : found}.\n`);
    process.exit(EXIT.invalid);
  }
  if (err instanceof LabError) {
    process.stderr.write(`convergent lab: ${escapeControls(err.message, '\n\t')}\n`);
    process.exit(EXIT.lab);
  }
  if (err instanceof HostRefusal) {
    for (const r of err.refusals) process.stderr.write(`convergent: ${escapeControls(r, '\n\t')}\n`);
    process.stderr.write('nothing was changed.\n');
    process.exit(EXIT.failed);
  }
  if (err instanceof ApplyError) {
    process.stderr.write(`convergent: ${escapeControls(err.message, '\n\t')}${fixLine(err.fix)}\n`);
    process.exit(err.kind === 'needs' ? EXIT.lab : EXIT.failed);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`convergent: ${escapeControls(err.message, '\n\t')}${fixLine(err.fix)}\n`);
    process.exit(EXIT.usage);
  }
  throw err;
}

/**
 * A command's action: whatever it throws ends the command as reportAndExit says, after the interrupt
 * of a lab run if there was one (a step that failed because of it is not the news). `outcome`
 * says what did not happen, from the action's arguments.
 */
export function action<A extends unknown[]>(
  run: (...args: A) => void | Promise<void>,
  outcome?: (...args: A) => string,
): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await run(...args);
    } catch (err) {
      exitIfInterrupted();
      reportAndExit(err, outcome?.(...args));
    }
  };
}

const fixLine = (fix: string | undefined) =>
  fix === undefined ? '' : `\n  ${colorsFor(process.stderr).cyan('fix')}: ${escapeControls(fix)}`;

/** Problems go to stderr: coloured when stderr is a terminal, whatever stdout is. */
function colorProblem(text: string): string {
  const c = colorsFor(process.stderr);
  return text.replace(': error: ', `: ${c.red('error')}: `).replace('\n  fix: ', `\n  ${c.cyan('fix')}: `);
}
