// convergent cgnat lookup|subscriber|export: the deterministic port blocks of a CGNAT spec, both ways.
// An abuse report names a public address, a port and a time; the spec in force at that time answers.
import type { Command } from '@commander-js/extra-typings';
import { allBlocks, blockOf, ownerOf, type PortBlock } from '../systems/cgnat/compile/blocks.ts';
import { readCgnat } from '../systems/read.ts';
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

/** An IPv4 address argument; IPv6 is named as such (CGNAT translates IPv4 only; IPv6 is routed). */
function ipv4(text: string, what: string, fix: string): number {
  const a = parseIPv4(text);
  if (a !== undefined) return a;
  if (text.includes(':'))
    throw new UsageError(
      `${what} "${text}" is IPv6; the NAT and its port blocks are IPv4 only (IPv6 is routed, not translated)`,
      fix,
    );
  throw new UsageError(`${what} "${text}" is not an IPv4 address`, fix);
}

const PUBLIC_FIX = 'give PUBLIC_IP:PORT, e.g. 100.64.0.1:18500';

/** PUBLIC_IP:PORT, as an abuse report names it: each part checked, before the spec is read. */
export function parsePublic(text: string): { address: number; port: number } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) ipv4(bracketed[1] as string, 'public address', PUBLIC_FIX);
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf(':') !== colon) {
    if (text.indexOf(':') !== colon) ipv4(text, 'public address', PUBLIC_FIX);
    throw new UsageError(
      `"${text}" has no port; a public port block is found by address and port`,
      parseIPv4(text) === undefined ? PUBLIC_FIX : `give PUBLIC_IP:PORT, e.g. ${text}:18500`,
    );
  }
  const address = ipv4(text.slice(0, colon), 'public address', PUBLIC_FIX);
  const portText = text.slice(colon + 1);
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    throw new UsageError(
      `port "${portText}" of ${text} is not a port: ports run from 1 to 65535`,
      'give PUBLIC_IP:PORT with a port from 1 to 65535, e.g. 100.64.0.1:18500',
    );
  return { address, port };
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
        const { address, port } = parsePublic(pub);
        const c = readCgnat(file);
        const owner = ownerOf(c, address, port);
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
