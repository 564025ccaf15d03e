// convergent lab test|up|check|apply|down|status|exec: a spec's hosts in network namespaces (or a
// VM), with real traffic. Each command is a file of its own; the spec's system does the rest.
import type { Command } from '@commander-js/extra-typings';
import { applyCommand } from './apply.ts';
import { checkLabCommand } from './check.ts';
import { downCommand } from './down.ts';
import { execCommand } from './exec.ts';
import { statusCommand } from './status.ts';
import { testCommand } from './test.ts';
import { upCommand } from './up.ts';

export function labCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description('emulate the cluster in network namespaces and prove it with real traffic');
  testCommand(lab);
  upCommand(lab);
  checkLabCommand(lab);
  applyCommand(lab);
  downCommand(lab);
  statusCommand(lab);
  execCommand(lab);
}
