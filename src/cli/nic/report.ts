// How `nic up|down` ends when the hook must not (or could not) do its work.
import { escapeControls } from '../../input/problem.ts';
import { NicFailed, NicRefused } from '../../systems/cluster/nic/index.ts';
import { colorsFor } from '../color.ts';
import { EXIT } from '../errors.ts';

/**
 * A refused hook (nothing changed: exit 1, what is wrong and the fix) or a step that failed on the
 * node (exit 1, the command and what it said); anything else is the common action's to report.
 */
export function reportNic(verb: 'up' | 'down', err: unknown): void {
  if (!(err instanceof NicRefused) && !(err instanceof NicFailed)) throw err;
  const fix =
    err instanceof NicRefused
      ? `\n  ${colorsFor(process.stderr).cyan('fix')}: ${escapeControls(err.fix)}`
      : '';
  const what = err instanceof NicRefused ? 'refused, nothing changed' : 'failed';
  process.stderr.write(`convergent nic ${verb}: ${what}: ${escapeControls(err.message, '\n\t')}${fix}\n`);
  process.exit(EXIT.invalid);
}
