// convergent check FILE: validate a spec and say what it describes.
import type { Command } from '@commander-js/extra-typings';
import { readSpec } from '../systems/registry.ts';
import { action } from './errors.ts';

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('validate a spec (a cluster, or kind: cgnat): every problem with file:line:column and a fix')
    .argument('<file>', 'spec (YAML)')
    .action(
      action((file) => {
        const { system, spec } = readSpec(file);
        process.stdout.write(`${file}: ok: ${system.describe(spec)}\n`);
      }),
    );
}
