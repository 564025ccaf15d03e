// convergent diff FILE --node N: what apply would change on this host, in convergent's own objects
// only. Exit 0: the host matches the spec; 5 (EXIT.differs): it does not, so scripts can ask.
import type { Command } from '@commander-js/extra-typings';
import { changeLine } from '../../apply/change.ts';
import { diff } from '../../apply/engine.ts';
import { action, EXIT } from '../errors.ts';
import { hostIO, hostParts, needHost, nodeTarget, ROOT_HELP, STATE_HELP } from './common.ts';

export function diffCommand(program: Command): void {
  program
    .command('diff')
    .description(
      `what \`apply\` would change on this host (exit ${EXIT.ok}: it matches the spec, ${EXIT.differs}: it differs)`,
    )
    .argument('<file>', 'cluster spec (YAML)')
    .requiredOption('--node <name>', 'the node this host is')
    .option('--json', 'print { node, changes: [...] } (each change with its commands)')
    .option('--state <dir>', STATE_HELP)
    .option('--root <dir>', ROOT_HELP)
    .action(
      action((file, options) => {
        const { desired } = nodeTarget(file, options.node);
        needHost('diff');
        const changes = diff(hostIO(options), hostParts(), desired);
        if (options.json)
          process.stdout.write(`${JSON.stringify({ node: options.node, changes }, null, 2)}\n`);
        else if (changes.length === 0) process.stdout.write(`${options.node}: matches ${file}\n`);
        else for (const c of changes) process.stdout.write(`${changeLine(c)}\n`);
        if (changes.length > 0) process.exitCode = EXIT.differs;
      }),
    );
}
