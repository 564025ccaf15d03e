// What the cgnat commands share: port blocks printed as a line or JSON, addresses as the user gives them.
import type { PortBlock } from '../../systems/cgnat/compile/blocks.ts';
import { formatIPv4, parseIPv4 } from '../../util/ipv4.ts';
import { EXIT, UsageError } from '../errors.ts';

export const asJson = (b: PortBlock) => ({
  tenant: b.tenant,
  subscriber: formatIPv4(b.subscriber),
  public: formatIPv4(b.public),
  ports: `${b.firstPort}-${b.lastPort}`,
});

const line = (b: PortBlock) =>
  `tenant ${b.tenant} subscriber ${formatIPv4(b.subscriber)}: public ${formatIPv4(b.public)} ports ${b.firstPort}-${b.lastPort}\n`;

/** A block on stdout (a line, or JSON); none: the reason on stderr, exit status 3. */
export function printBlock(block: PortBlock | undefined, missing: string, json: boolean): void {
  if (!block) {
    process.stderr.write(`${missing}\n`);
    process.exitCode = EXIT.failed;
    return;
  }
  process.stdout.write(json ? `${JSON.stringify(asJson(block))}\n` : line(block));
}

/** An IPv4 address argument; IPv6 is named as such (CGNAT translates IPv4 only; IPv6 is routed). */
export function ipv4(text: string, what: string, fix: string): number {
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
