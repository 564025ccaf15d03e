// Addresses of either family, as the CGNAT spec writes them: "100.64.0.1", "2001:db8:b:10::1", with
// a prefix length for an interface address ("100.127.255.254/10") or a route ("2001:db8:b:10::/64").
// IPv6 stays text, normalised by ipaddr.js; IPv4 arithmetic lives in ipv4.ts.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  /** Normalised text: "100.64.0.1", "2001:db8:b:10::1". */
  readonly text: string;
}

/** An address with a prefix length: an interface address (host bits set) or a route. */
export interface Cidr extends Address {
  readonly length: number;
}

export function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text))
    return { family: 4, text: ipaddr.IPv4.parse(text).toString() };
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) return undefined;
  return { family: 6, text: ipaddr.IPv6.parse(text).toString() };
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > (address.family === 4 ? 32 : 128)) return undefined;
  return { ...address, length };
}

export const formatCidr = (c: Cidr) => `${c.text}/${c.length}`;

/** The network a CIDR lies in, host bits cleared: "2001:db8:b:10::ffff/64" -> "2001:db8:b:10::/64". */
export function networkOf(c: Cidr): Cidr {
  const parsed = ipaddr.parse(c.text);
  const bytes = parsed.toByteArray();
  for (let bit = c.length; bit < bytes.length * 8; bit++)
    bytes[bit >> 3] = (bytes[bit >> 3] as number) & ~(0x80 >> (bit & 7));
  return { family: c.family, text: ipaddr.fromByteArray(bytes).toString(), length: c.length };
}

export function inCidr(c: Cidr, a: Address): boolean {
  if (a.family !== c.family) return false;
  const net = ipaddr.parse(c.text);
  return (ipaddr.parse(a.text) as typeof net).match(net, c.length);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.length <= b.length ? a : b;
  const longer = shorter === a ? b : a;
  return inCidr(shorter, networkOf(longer));
}

/** The interface identifier of a MAC (RFC 4291 appendix A): ff:fe in the middle, U/L bit flipped. */
function interfaceId(mac: string): string {
  const o = mac.split(':').map((h) => Number.parseInt(h, 16));
  const bytes = [(o[0] as number) ^ 0x02, o[1], o[2], 0xff, 0xfe, o[3], o[4], o[5]] as number[];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2)
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return groups.join(':');
}

/** The EUI-64 link-local address of a MAC: "fe80::5054:ff:fe00:101" for 52:54:00:00:01:01. */
export function linkLocal(mac: string): string {
  return eui64(mac, { family: 6, text: 'fe80::', length: 64 });
}

/** The SLAAC (EUI-64) address of a MAC in a /64, as gnt-networking's mac2eui64 computes it. */
export function eui64(mac: string, prefix: Cidr): string {
  const net = networkOf(prefix).text;
  const head = ipaddr.IPv6.parse(net)
    .parts.slice(0, 4)
    .map((p) => p.toString(16));
  const text = `${head.join(':')}:${interfaceId(mac)}`;
  return parseAddress(text)?.text ?? text;
}
