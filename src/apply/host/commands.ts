// What the host part's changes are made of: ip commands, shell lines where only a shell makes them
// idempotent (a deletion that succeeds when the object is gone), and refusals.
import type { Change, Command, PartName } from '../change.ts';
import { ApplyError } from '../errors.ts';

export const ip = (...argv: string[]): Command => ({ argv: ['ip', ...argv] });
export const sh = (script: string): Command => ({ argv: ['sh', '-c', script] });

/** A word for a shell line: quoted when it holds anything but safe characters. */
export function shWord(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** `ip ARGS` that succeeds when the object is gone already (a second run of a deletion). */
export function deleteQuietly(argv: readonly string[]): Command {
  return sh(`${argv.map(shWord).join(' ')} 2>/dev/null || true`);
}

/**
 * Something convergent will not do by itself (it would cut traffic or touch what is not its own).
 * changes() throws it before anything runs, with every refusal at once, each with its fix; the CLI
 * prints it as any ApplyError (exit 3), without a stack.
 */
export class HostRefusal extends ApplyError {
  override name = 'HostRefusal';
  readonly refusals: readonly string[];
  constructor(refusals: readonly string[]) {
    super('failed', `nothing was changed: the host part refuses\n${refusals.join('\n')}`);
    this.refusals = refusals;
  }
}

/** The refusals gathered while changes are computed, thrown together at the end. */
export class Refusals {
  readonly #list: string[] = [];
  add(what: string, why: string, fix: string): void {
    this.#list.push(`${what}: ${why}\n  fix: ${fix}`);
  }
  throwAny(): void {
    if (this.#list.length > 0) throw new HostRefusal(this.#list);
  }
}

export function change(
  part: PartName,
  action: Change['action'],
  what: string,
  commands: readonly Command[],
  extra: { detail?: string | undefined; source?: string | undefined } = {},
): Change {
  return {
    part,
    action,
    what,
    ...(extra.detail === undefined || extra.detail === '' ? {} : { detail: extra.detail }),
    ...(extra.source === undefined ? {} : { source: extra.source }),
    commands,
  };
}
