// convergent cgnat export FILE: every subscriber's public address and ports (CSV or JSON lines).
import type { Command } from '@commander-js/extra-typings';
import { allBlocks } from '../../systems/cgnat/compile/blocks.ts';
import { readCgnat } from '../../systems/cgnat/system.ts';
import { formatIPv4 } from '../../util/ipv4.ts';
import { action } from '../errors.ts';
import { asJson } from './blocks.ts';

export function exportCommand(cgnat: Command): void {
  cgnat
    .command('export')
    .description('every subscriber with its public address and ports, for abuse handling (CSV or JSON)')
    .argument('<file>', 'CGNAT spec (YAML, kind: cgnat)')
    .option('--json', 'JSON lines instead of CSV')
    .action(
      action((file, options) => {
        const c = readCgnat(file);
        const out: string[] = options.json ? [] : ['tenant,subscriber,public,first_port,last_port'];
        for (const b of allBlocks(c))
          out.push(
            options.json
              ? JSON.stringify(asJson(b))
              : `${b.tenant},${formatIPv4(b.subscriber)},${formatIPv4(b.public)},${b.firstPort},${b.lastPort}`,
          );
        process.stdout.write(`${out.join('\n')}\n`);
      }),
    );
}
