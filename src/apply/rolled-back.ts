// rolled-back.json in the state dir: the last apply that was rolled back (by its own health check, a
// failed command, the watchdog or `convergent rollback`), so that a late `apply --confirm` can say
// what happened to the apply it meant to keep instead of "nothing to confirm". A new apply removes it.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from './state.ts';

export const ROLLED_BACK = 'rolled-back.json';

export interface RolledBack {
  readonly id: string;
  readonly node: string;
  /** When the rollback ended (ISO time). */
  readonly time: string;
  readonly why: string;
}

export const noteRolledBack = (stateDir: string, rolled: RolledBack): void =>
  writeAtomic(join(stateDir, ROLLED_BACK), `${JSON.stringify(rolled, null, 2)}\n`);

/** The last rollback, when no apply ran since; a file that cannot be read counts as none. */
export function lastRolledBack(stateDir: string): RolledBack | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, ROLLED_BACK), 'utf8')) as RolledBack;
  } catch {
    return undefined;
  }
}

export const forgetRolledBack = (stateDir: string): void =>
  rmSync(join(stateDir, ROLLED_BACK), { force: true });
