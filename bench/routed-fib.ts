// What a /32 (and /128) per guest costs the node's FIB: the IPv4 trie of the network's table as the
// kernel describes it (/proc/net/fib_triestat, per namespace: leaves, depth, size), the IPv6 FIB's
// counts (/proc/net/rt6_stats), the slab caches routes live in (/proc/slabinfo, machine-wide), and
// the time of a route lookup as the forwarding path makes it (`ip route get ADDR from CLIENT iif
// TRUNK`: the policy rules, then table T), many in one `ip -batch` so no process start is timed.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { inNs } from './ports-lab.ts';
import type { RoutedLab } from './routed-lab.ts';

export interface Trie {
  readonly leaves: number;
  readonly prefixes: number;
  readonly internalNodes: number;
  readonly averDepth: number;
  readonly maxDepth: number;
  readonly totalKb: number;
}

/** The IPv4 trie of `table` in the lab's node, from fib_triestat's block "Id <table>:". */
export function trieOf(lab: RoutedLab, table: number): Trie | undefined {
  const text = inNs(lab.node, ['cat', '/proc/net/fib_triestat']);
  const block = text.split(/\n(?=Id \d+:)/).find((b) => b.startsWith(`Id ${table}:`));
  if (!block) return undefined;
  const field = (name: string) => Number(new RegExp(`${name}:\\s*([\\d.]+)`).exec(block)?.[1] ?? Number.NaN);
  return {
    leaves: field('Leaves'),
    prefixes: field('Prefixes'),
    internalNodes: field('Internal nodes'),
    averDepth: field('Aver depth'),
    maxDepth: field('Max depth'),
    totalKb: field('Total size'),
  };
}

/** /proc/net/rt6_stats of the node: fib nodes, route nodes, fib6_info allocated, route entries. */
export function rt6Of(lab: RoutedLab) {
  const [fibNodes, routeNodes, allocs, entries] = inNs(lab.node, ['cat', '/proc/net/rt6_stats'])
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16));
  return { fibNodes, routeNodes, allocs, entries };
}

export const SLABS = ['ip_fib_trie', 'ip_fib_alias', 'fib6_nodes', 'ip6_dst_cache', 'ip_dst_cache'] as const;

/** Bytes in use by the route caches (active objects x object size), machine-wide. */
export function slabBytes(): Record<string, number> {
  const bytes: Record<string, number> = {};
  for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n')) {
    const [name, active, , size] = line.split(/\s+/);
    if (name && (SLABS as readonly string[]).includes(name)) bytes[name] = Number(active) * Number(size);
  }
  return bytes;
}

/**
 * µs per route lookup: one batch of `ip route get` per address, as a packet from `from` arriving on
 * `iif` meets them (the policy rules, then the table), divided by its lookups. Each lookup is a
 * netlink request and answer too: an upper bound of the FIB's part.
 */
export function lookupMicros(
  lab: RoutedLab,
  addresses: readonly string[],
  from: string,
  iif: string,
): number {
  const batch = `${addresses.map((a) => `route get ${a} from ${from} iif ${iif}`).join('\n')}\n`;
  const t = performance.now();
  inNs(lab.node, ['ip', '-batch', '-'], batch);
  return ((performance.now() - t) * 1000) / addresses.length;
}

/** Where the node sends a packet for `address` from `from` arriving on `iif` (the route's text). */
export const routeOf = (lab: RoutedLab, address: string, from: string, iif: string) =>
  inNs(lab.node, ['ip', 'route', 'get', address, 'from', from, 'iif', iif]).trim().split('\n')[0] ?? '';
