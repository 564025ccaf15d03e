// What a routed tap holds in the kernel besides its elements: its /32 and /128 routes in the
// network's table, the proxy-NDP entry of its IPv6 address on the uplink, and its sysctls, as
// changes for kernel.ts. Every change names the tap or the address: nothing here lists a table on
// the plug of a fresh tap.
import { isIPv6, type KernelChange } from './kernel.ts';
import type { TapRoutes } from './record.ts';
import type { Exec } from './refused.ts';

/** The addresses routed to the tap in `table` (both families): a filtered dump, the tap's routes only. */
export function routedTo(exec: Exec, table: number, tap: string): string[] {
  return (['-4', '-6'] as const).flatMap((family) => {
    const r = exec(['ip', '-j', family, 'route', 'show', 'table', String(table), 'dev', tap]);
    if (r.status !== 0) return [];
    return (JSON.parse(r.stdout || '[]') as { dst: string }[]).map((route) =>
      route.dst.replace(/\/(32|128)$/, ''),
    );
  });
}

/**
 * The changes that remove what a plug left and is no longer wanted: an IPv6 address's /128 and then,
 * if the /128 was still the tap's, its proxy-NDP entry (unhost: a proxy entry left without its route
 * is an orphan, which nic down's reconciliation removes); an IPv4 address's /32.
 */
export function unplugChanges(old: TapRoutes, tap: string, keep: TapRoutes | undefined): KernelChange[] {
  const kept = (a: string) =>
    keep !== undefined &&
    keep.table === old.table &&
    keep.uplink === old.uplink &&
    keep.addresses.includes(a);
  return old.addresses
    .filter((a) => !kept(a))
    .map((address) =>
      isIPv6(address)
        ? ({ kind: 'unhost', address, tap, table: old.table, uplink: old.uplink } as const)
        : ({ kind: 'route', verb: 'del', address, dev: tap, table: old.table } as const),
    );
}

/** The plug's routes and proxy-NDP entry, replaced (twice is once). */
export function plugChanges(routes: TapRoutes, tap: string): KernelChange[] {
  return [
    ...routes.addresses.map(
      (address) => ({ kind: 'route', verb: 'replace', address, dev: tap, table: routes.table }) as const,
    ),
    // After its route: a proxy entry always has its /128 (nic down reconciles by that).
    ...routes.addresses
      .filter(isIPv6)
      .map((address) => ({ kind: 'proxy', verb: 'replace', address, dev: routes.uplink }) as const),
  ];
}

/**
 * The tap's sysctls, written in the node's namespace (the lab's exec runs there): proxy ARP on (the
 * guest's ARP for its gateway, or any address, is answered with the tap's MAC), proxy NDP off (the
 * tap answers for the guest's own address otherwise), and no proxy delay (the kernel would wait up to
 * 0.8 s before answering the guest's broadcast ARP).
 */
export function tapSysctls(tap: string, proxyArp: boolean, ipv6: boolean): KernelChange[] {
  const sysctl = (key: string, value: string) => ({ kind: 'sysctl', key, value }) as const;
  return [
    ...(proxyArp
      ? [sysctl(`net/ipv4/conf/${tap}/proxy_arp`, '1'), sysctl(`net/ipv4/neigh/${tap}/proxy_delay`, '0')]
      : []),
    ...(ipv6 ? [sysctl(`net/ipv6/conf/${tap}/proxy_ndp`, '0')] : []),
  ];
}

/** Proxy-NDP entries on the uplink: the addresses whose neighbour solicitations the node answers. */
export function proxiesOn(exec: Exec, uplink: string): string[] {
  const r = exec(['ip', '-j', '-6', 'neigh', 'show', 'proxy', 'dev', uplink]);
  if (r.status !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as { dst: string }[]).map((n) => n.dst);
}

/** Every /128 in the table: the addresses this node hosts (nic down's reconciliation, never nic up). */
export function hostedIn(exec: Exec, table: number): Set<string> {
  const r = exec(['ip', '-j', '-6', 'route', 'show', 'table', String(table)]);
  if (r.status !== 0) return new Set();
  // ip writes a host route's destination without its length.
  const dsts = (JSON.parse(r.stdout || '[]') as { dst: string }[]).map((x) => x.dst.replace(/\/128$/, ''));
  return new Set(dsts.filter((d) => isIPv6(d) && !d.includes('/')));
}
