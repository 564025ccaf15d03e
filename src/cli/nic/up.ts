// convergent nic up FILE --node N --nic GUEST[:INDEX] --tap TAP: plug a guest's tap (F21).
import type { Command } from '@commander-js/extra-typings';
import { readNicTable } from '../../systems/cluster/nic/cache.ts';
import { hostExec, nicUp } from '../../systems/cluster/nic/index.ts';
import { action } from '../errors.ts';
import { reportNic } from './report.ts';

export function nicUpCommand(nic: Command): void {
  nic
    .command('up')
    .description(
      "plug TAP into its NIC's bridge with the bridge's MTU and guard it, or on a routed network route its addresses to TAP and announce them (set and map elements, routes, proxy NDP: no rule, no reload); twice is once",
    )
    .argument('<file>', 'cluster spec (YAML), e.g. /etc/convergent/cluster.yaml')
    .requiredOption('--node <node>', 'this node, as the spec names it (the hooks pass "$(hostname -s)")')
    .requiredOption('--nic <guest[:index]>', "the guest's NIC: GUEST (NIC 0) or GUEST:INDEX")
    .requiredOption('--tap <tap>', 'the interface the hypervisor created for the NIC')
    .action(
      action((file, options) => {
        // The spec's NIC table, cached under /run/convergent/cache by the spec's content hash.
        const cluster = readNicTable(file);
        try {
          const plugged = nicUp(hostExec, cluster, options.node, options.nic, options.tap);
          process.stdout.write(`${plugged.line}\n`);
          // A routed plug stands without its announcement: said, not failed.
          if (plugged.warning) process.stderr.write(`convergent nic up: warning: ${plugged.warning}\n`);
        } catch (err) {
          reportNic('up', err);
        }
      }),
    );
}
