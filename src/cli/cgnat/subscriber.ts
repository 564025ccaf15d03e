// convergent cgnat subscriber FILE TENANT ADDRESS: a subscriber's public address and port block.
import type { Command } from '@commander-js/extra-typings';
import { blockOf } from '../../systems/cgnat/compile/blocks.ts';
import { readCgnat } from '../../systems/cgnat/system.ts';
import { action, UsageError } from '../errors.ts';
import { ipv4, printBlock } from './blocks.ts';

export function subscriberCommand(cgnat: Command): void {
  cgnat
    .command('subscriber')
    .description("a subscriber's public address and port block")
    .argument('<file>', 'CGNAT spec (YAML, kind: cgnat)')
    .argument('<tenant>', 'tenant name')
    .argument('<address>', "the subscriber's IPv4 address in that tenant")
    .option('--json', 'print as JSON')
    .action(
      action((file, tenantName, address, options) => {
        const subscriber = ipv4(
          address,
          'subscriber address',
          "give the subscriber's IPv4 address, e.g. 100.64.0.2",
        );
        const c = readCgnat(file);
        const tenant = c.tenants.find((t) => t.name === tenantName);
        if (!tenant)
          throw new UsageError(
            `no tenant "${tenantName}"; tenants: ${c.tenants.map((t) => t.name).join(', ')}`,
            `give one of them, e.g. ${c.tenants[0]?.name ?? 'blue'}`,
          );
        const block = blockOf(c, tenant, subscriber);
        printBlock(block, `${address} is no subscriber of tenant ${tenantName}`, options.json === true);
      }),
    );
}
