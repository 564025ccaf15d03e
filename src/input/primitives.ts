// The values every kind of spec is made of (names, addresses, prefixes, interface names, MACs,
// bounded numbers) as zod schemas, each with its error messages in spec words. A system's schema
// builds its fields from these and adds its own description and example.
import { z } from 'zod';
import { networkOf, parseAddress, parseCidr } from '../util/ip.ts';
import { parseIPv4, parsePrefix } from '../util/ipv4.ts';
import { normalizeMac } from '../util/mac.ts';

/**
 * Text that `parse` reads, handed on as what `parse` made of it, so that nothing after the schema
 * reads it again. Not a string: `expected`; a string `parse` cannot read: `malformed` (both
 * "expected … such as …", which issues.ts turns into the problem and its fix).
 */
export const parsedText = <T>(
  parse: (text: string) => T | undefined,
  expected: string,
  malformed = expected,
) => z.string({ error: expected }).transform(parsedBy(parse, malformed));

/** A zod transform of checked text to its value, or the issue `malformed`. */
export function parsedBy<T>(parse: (text: string) => T | undefined, malformed: string) {
  return (text: string, ctx: z.RefinementCtx<string>): T => {
    const value = parse(text);
    if (value !== undefined) return value;
    // continue: as a refinement's issue, so that a union still tries its other forms and reports them all.
    ctx.issues.push({ code: 'custom', message: malformed, input: text, continue: true });
    return z.NEVER;
  };
}

/** The same check as parsedText, keeping the text: for values a later stage reads on its own terms. */
export const checkedText = <T>(
  parse: (text: string) => T | undefined,
  expected: string,
  malformed = expected,
) => z.string({ error: expected }).refine((text) => parse(text) !== undefined, { error: malformed });

/** A name matching `pattern`, else `error`. */
export const specName = (pattern: RegExp, error: string) => z.string().regex(pattern, { error });

/** An IPv4 address in its dotted-quad form; `example` shows one. */
export const ipv4Address = (example: string) =>
  parsedText(parseIPv4, `expected an IPv4 address such as ${example}`);

/** An IPv4 network/length with its host bits zero. */
export const ipv4Prefix = (example: string) =>
  parsedText(
    parsePrefix,
    `expected an IPv4 prefix such as ${example}`,
    `expected an IPv4 prefix with its host bits zero, such as ${example}`,
  );

const ADDRESS = [
  'expected an address such as 100.64.0.1 or 2001:db8:b:10::1',
  'expected an IPv4 or IPv6 address such as 100.64.0.1 or 2001:db8:b:10::1',
] as const;

/** An IPv4 or IPv6 address. */
export const ipAddress = () => parsedText(parseAddress, ...ADDRESS).describe('IPv4 or IPv6 address');

/** An IPv6 address, normalised ("2001:db8::10"). */
export const ipv6Address = (example: string) =>
  parsedText((text) => {
    const a = parseAddress(text);
    return a?.family === 6 ? a.text : undefined;
  }, `expected an IPv6 address such as ${example}`).describe('IPv6 address');

/** An IPv6 network/length with its host bits zero ("2001:db8::/64"), normalised. */
export const ipv6Prefix = (example: string) =>
  parsedText((text) => {
    const c = parseCidr(text);
    if (c?.family !== 6) return undefined;
    return networkOf(c).text === c.text ? c : undefined;
  }, `expected an IPv6 prefix with its host bits zero, such as ${example}`).describe(
    'IPv6 prefix, network/length',
  );

/** An IPv4 or IPv6 address, kept as the text written. */
export const ipAddressText = () => checkedText(parseAddress, ...ADDRESS).describe('IPv4 or IPv6 address');

/** An IPv4 or IPv6 interface address with its prefix length. */
export const ipCidr = () =>
  parsedText(
    parseCidr,
    'expected an address with its prefix length such as 100.64.0.1/10',
    'expected an address with its prefix length such as 100.64.0.1/10 or 2001:db8:a::1/64',
  ).describe('interface address with prefix length, IPv4 or IPv6');

/** An Ethernet MAC address, aa:bb:cc:dd:ee:ff in either case. */
export const macAddress = () =>
  parsedText(normalizeMac, 'expected a MAC address such as 52:54:00:12:34:56').describe(
    'Ethernet MAC address',
  );

/** A Linux interface name: at most IFNAMSIZ-1 = 15 bytes, of the characters `allowed` (else `error`). */
export const interfaceName = (example: string, allowed: RegExp, error: string) =>
  z
    .string({ error: `expected an interface name such as ${example}` })
    .max(15, { error: 'interface names are at most 15 characters long (the kernel limit, IFNAMSIZ)' })
    .regex(allowed, { error })
    .describe('Linux interface name (at most 15 characters)');

/** A whole number in [min, max], with a message for each way to miss it. */
export function wholeNumber(words: {
  readonly expected: string;
  /** When it is a number but not a whole one; `expected` when left out. */
  readonly whole?: string;
  readonly min: readonly [number, string];
  readonly max: readonly [number, string];
}) {
  return z
    .number({ error: words.expected })
    .int({ error: words.whole ?? words.expected })
    .min(words.min[0], { error: words.min[1] })
    .max(words.max[0], { error: words.max[1] });
}

/** A whole number from `min` to `max` called `what` ("a port") in every message. */
export const count = (what: string, min: number, max: number) =>
  wholeNumber({
    expected: `expected ${what}, a whole number from ${min} to ${max}`,
    min: [min, `${what} is at least ${min}`],
    max: [max, `${what} is at most ${max}`],
  });
