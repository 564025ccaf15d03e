// convergent cgnat lookup|subscriber|export: the deterministic port blocks of a CGNAT spec, both ways.
// An abuse report names a public address, a port and a time; the spec in force at that time answers.
import type { Command } from '@commander-js/extra-typings';
import { allBlocks, blockOf, ownerOf, type PortBlock } from '../compile/cgnat/blocks.ts';
import { readCgnat } from '../spec/read.ts';
import { formatIPv4, parseIPv4 } from '../util/ipv4.ts';
import { EXIT, reportAndExit, UsageError } from './errors.ts';

const asJson = (b: PortBlock) => ({
  tenant: b.tenant,
  subscriber: formatIPv4(b.subscriber),
  public: formatIPv4(b.public),
  ports: `${b.firstPort}-${b.lastPort}`,
});

const line = (b: PortBlock) =>
  `tenant ${b.tenant} subscriber ${formatIPv4(b.subscriber)}: public ${formatIPv4(b.public)} ports ${b.firstPort}-${b.lastPort}\n`;

/** A block on stdout (a line, or JSON); none: the reason on stderr, exit status 3. */
function printBlock(block: PortBlock | undefined, missing: string, json: boolean): void {
  if (!block) {
    process.stderr.write(`${missing}\n`);
    process.exitCode = EXIT.failed;
    return;
  }
  process.stdout.write(json ? `${JSON.stringify(asJson(block))}\n` : line(block));
}

function ipv4(text: string, what: string): number {
  const a = parseIPv4(text);
  if (a === undefined) throw new UsageError(`${what} "${text}" is not an IPv4 address`);
  return a;
}

export function cgnatCommand(program: Command): void {
  const cgnat = program.command('cgnat').description("a CGNAT spec's port blocks: who had which public port");

  cgnat
    .command('lookup')
    .description('the tenant and subscriber that own PUBLIC_IP:PORT (exit 3 when nobody does)')
    .argument('<file>', 'CGNAT spec (YAML, kind: cgnat)')
    .argument('<public>', 'public address and port, e.g. 100.64.0.1:18500')
    .option('--json', 'print as JSON')
    .action((file, pub, options) => {
      try {
        const m = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(pub);
        if (!m) throw new UsageError(`expected PUBLIC_IP:PORT such as 100.64.0.1:18500, not "${pub}"`);
        const c = readCgnat(file);
        const owner = ownerOf(c, ipv4(m[1] as string, 'public address'), Number(m[2]));
        printBlock(
          owner,
          `${pub}: no subscriber owns it (not a pool address, or a port outside every block)`,
          options.json === true,
        );
      } catch (err) {
        reportAndExit(err);
      }
    });

  cgnat
    .command('subscriber')
    .description("a subscriber's public address and port block")
    .argument('<file>', 'CGNAT spec (YAML, kind: cgnat)')
    .argument('<tenant>', 'tenant name')
    .argument('<address>', "the subscriber's IPv4 address in that tenant")
    .option('--json', 'print as JSON')
    .action((file, tenantName, address, options) => {
      try {
        const c = readCgnat(file);
        const tenant = c.tenants.find((t) => t.name === tenantName);
        if (!tenant)
          throw new UsageError(
            `no tenant "${tenantName}"; tenants: ${c.tenants.map((t) => t.name).join(', ')}`,
          );
        const block = blockOf(c, tenant, ipv4(address, 'subscriber address'));
        printBlock(block, `${address} is no subscriber of tenant ${tenantName}`, options.json === true);
      } catch (err) {
        reportAndExit(err);
      }
    });

  cgnat
    .command('export')
    .description('every subscriber with its public address and ports, for abuse handling (CSV or JSON)')
    .argument('<file>', 'CGNAT spec (YAML, kind: cgnat)')
    .option('--json', 'JSON lines instead of CSV')
    .action((file, options) => {
      try {
        const c = readCgnat(file);
        const out: string[] = options.json ? [] : ['tenant,subscriber,public,first_port,last_port'];
        for (const b of allBlocks(c))
          out.push(
            options.json
              ? JSON.stringify(asJson(b))
              : `${b.tenant},${formatIPv4(b.subscriber)},${formatIPv4(b.public)},${b.firstPort},${b.lastPort}`,
          );
        process.stdout.write(`${out.join('\n')}\n`);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
