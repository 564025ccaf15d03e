// convergent schema: print the JSON Schema of the cluster spec, for editors.
import type { Command } from '@commander-js/extra-typings';
import { specJsonSchema } from '../systems/json-schema.ts';

export function schemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of the cluster spec (for editor completion)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
    });
}
