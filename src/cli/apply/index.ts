// convergent diff|apply|rollback: this host made into its node of the spec, checked, confirmed or
// rolled back (src/apply/ is the engine; common.ts what the three commands share).
import type { Command } from '@commander-js/extra-typings';
import { applyCommand } from './apply.ts';
import { diffCommand } from './diff.ts';
import { rollbackCommand } from './rollback.ts';

export function applyCommands(program: Command): void {
  diffCommand(program);
  applyCommand(program);
  rollbackCommand(program);
}
