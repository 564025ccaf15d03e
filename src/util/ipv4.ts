// IPv4 addresses as unsigned 32-bit numbers, and prefixes (network/length).
// ipaddr.js does the parsing; containment and formatting are plain arithmetic so that
// validating 20,000 guests stays cheap.
import ipaddr from 'ipaddr.js';

export interface Prefix {
  readonly network: number;
  readonly length: number;
}

/** Parses a dotted-quad IPv4 address in its canonical four-part form, or returns undefined. */
export function parseIPv4(text: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  const [a, b, c, d] = ipaddr.IPv4.parse(text).octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

export function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** Parses "a.b.c.d/len". Returns undefined when malformed; host bits must be zero. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIPv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > 32) return undefined;
  if ((address & maskOf(length)) >>> 0 !== address) return undefined;
  return { network: address, length };
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatIPv4(prefix.network)}/${prefix.length}`;
}

export function contains(prefix: Prefix, address: number): boolean {
  return (address & maskOf(prefix.length)) >>> 0 === prefix.network;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const length = Math.min(a.length, b.length);
  return (a.network & maskOf(length)) >>> 0 === (b.network & maskOf(length)) >>> 0;
}

/** The broadcast address of a prefix (the last address). */
export function lastAddress(prefix: Prefix): number {
  return (prefix.network | ~maskOf(prefix.length)) >>> 0;
}

/** True for the network and broadcast addresses of prefixes shorter than /31, which hosts cannot use. */
export function isReserved(prefix: Prefix, address: number): boolean {
  if (prefix.length >= 31) return false;
  return address === prefix.network || address === lastAddress(prefix);
}
