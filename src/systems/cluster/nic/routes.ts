// What a routed tap holds in the kernel besides its elements: its /32 and /128 routes in the
// network's table, the proxy-NDP entry of its IPv6 address on the uplink, and its sysctls. Every
// change names the tap or the address: nothing here lists a table on the plug of a fresh tap.
import type { TapRoutes } from './record.ts';
import { type Exec, runOrFail } from './refused.ts';

export const isIPv6 = (address: string) => address.includes(':');

/** "/32" or "/128". */
export const hostRoute = (address: string) => `${address}/${isIPv6(address) ? 128 : 32}`;

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
 * Lines for `ip -batch -` that remove what a plug left and is no longer wanted: the proxy-NDP entries
 * first (an entry without its route is an orphan, which nic down's reconciliation removes), then the
 * routes. `-force`: an entry already gone is not an error.
 */
export function unplugLines(old: TapRoutes, tap: string, keep: TapRoutes | undefined): string[] {
  const kept = (a: string) =>
    keep !== undefined &&
    keep.table === old.table &&
    keep.uplink === old.uplink &&
    keep.addresses.includes(a);
  const gone = old.addresses.filter((a) => !kept(a));
  return [
    ...gone.filter(isIPv6).map((a) => `neigh del proxy ${a} dev ${old.uplink}`),
    ...gone.map((a) => `route del ${hostRoute(a)} dev ${tap} table ${old.table}`),
  ];
}

/** The plug's routes and proxy-NDP entry, replaced (twice is once). */
export function plugLines(routes: TapRoutes, tap: string): string[] {
  return [
    ...routes.addresses.map(
      (a) => `route replace ${hostRoute(a)} proto static dev ${tap} table ${routes.table}`,
    ),
    // After its route: a proxy entry always has its /128 (nic down reconciles by that).
    ...routes.addresses.filter(isIPv6).map((a) => `neigh replace proxy ${a} dev ${routes.uplink}`),
  ];
}

/** Runs the lines in one ip process; `force`: go on past a line that fails (a stale entry already gone). */
export function ipBatch(exec: Exec, lines: readonly string[], force = false): void {
  if (lines.length === 0) return;
  if (force) exec(['ip', '-force', '-batch', '-'], `${lines.join('\n')}\n`);
  else runOrFail(exec, ['ip', '-batch', '-'], `${lines.join('\n')}\n`);
}

/**
 * The tap's sysctls, written in the node's namespace (the lab's exec runs there): proxy ARP on (the
 * guest's ARP for its gateway, or any address, is answered with the tap's MAC), proxy NDP off (the
 * tap answers for the guest's own address otherwise), and no proxy delay (the kernel would wait up to
 * 0.8 s before answering the guest's broadcast ARP). The slash form: a Xen tap is "vif1.0".
 */
export function tapSysctls(exec: Exec, tap: string, proxyArp: boolean, ipv6: boolean): void {
  const settings = [
    ...(proxyArp ? [`net/ipv4/conf/${tap}/proxy_arp=1`, `net/ipv4/neigh/${tap}/proxy_delay=0`] : []),
    ...(ipv6 ? [`net/ipv6/conf/${tap}/proxy_ndp=0`] : []),
  ];
  if (settings.length > 0) runOrFail(exec, ['sysctl', '-qw', ...settings]);
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
