// convergent nic down FILE --node N --tap TAP [--local-only]: unplug a guest's tap (F21).
import type { Command } from '@commander-js/extra-typings';
import { readNicTable } from '../../systems/cluster/nic/cache.ts';
import { hostExec, nicDown } from '../../systems/cluster/nic/index.ts';
import { action } from '../errors.ts';
import { reportNic } from './report.ts';

export function nicDownCommand(nic: Command): void {
  nic
    .command('down')
    .description(
      'remove every element of TAP and take it out of its bridge, or on a routed network remove its routes and proxy-NDP entries (a tap already gone is fine: orphan proxy entries go)',
    )
    .argument('<file>', 'cluster spec (YAML), e.g. /etc/convergent/cluster.yaml')
    .requiredOption('--node <node>', 'this node, as the spec names it')
    .requiredOption('--tap <tap>', 'the interface the hypervisor is removing')
    .option('--nic <guest[:index]>', 'the NIC, for the record (the tap alone says what to remove)')
    .option(
      '--local-only',
      "the source node of a migration (Ganeti's local-cleanup-only): leave shared state (there is none: a routed tap's routes and proxy entries go too)",
    )
    .action(
      action((file, options) => {
        // The spec's NIC table, cached under /run/convergent/cache by the spec's content hash.
        const cluster = readNicTable(file);
        try {
          const done = nicDown(hostExec, cluster, options.node, options.tap, {
            localOnly: options.localOnly === true,
          });
          process.stdout.write(`${done.line}\n`);
        } catch (err) {
          reportNic('down', err);
        }
      }),
    );
}
