// convergent cgnat lookup FILE PUBLIC_IP:PORT: who owns a public port.
import type { Command } from '@commander-js/extra-typings';
import { ownerOf } from '../../systems/cgnat/compile/blocks.ts';
import { readCgnat } from '../../systems/cgnat/system.ts';
import { action } from '../errors.ts';
import { parsePublic, printBlock } from './blocks.ts';

export function lookupCommand(cgnat: Command): void {
  cgnat
    .command('lookup')
    .description('the tenant and subscriber that own PUBLIC_IP:PORT (exit 3 when nobody does)')
    .argument('<file>', 'CGNAT spec (YAML, kind: cgnat)')
    .argument('<public>', 'public address and port, e.g. 100.64.0.1:18500')
    .option('--json', 'print as JSON')
    .action(
      action((file, pub, options) => {
        const { address, port } = parsePublic(pub);
        const owner = ownerOf(readCgnat(file), address, port);
        printBlock(
          owner,
          `${pub}: no subscriber owns it (not a pool address, or a port outside every block)`,
          options.json === true,
        );
      }),
    );
}
