// `nic down` for a routed tap: its routes and its proxy-NDP entry go before its elements (a proxy
// entry without its route is an orphan, and orphans are what a gone tap's down removes). On routed
// networks --local-only (a migration's source node) skips nothing: the routes and proxy entries are
// this node's own, and leaving the proxy entry is the seed's "IPv6 hopping around the DC".
import { plural } from '../../../util/plural.ts';
import type { RoutedNetwork } from '../model.ts';
import { applyChanges, type KernelChange } from './kernel.ts';
import type { TapRoutes } from './record.ts';
import type { Exec } from './refused.ts';
import { hostedIn, proxiesOn, routedTo, unplugChanges } from './routes.ts';

export interface Unrouted {
  /** What the line says: "routes of 192.0.2.10 removed", "1 orphan proxy-NDP entry removed". */
  readonly said?: string;
}

/**
 * A live tap: what its record routed, or (no record) what the tables route to it. A gone tap: its
 * routes went with it; the proxy entries on the uplinks whose address has no /128 left are removed.
 * `keepProxy`: the keep-proxy-ndp fault, the lab's only.
 */
export function unroute(
  exec: Exec,
  routed: readonly RoutedNetwork[],
  tap: string,
  live: boolean,
  recorded: TapRoutes | undefined,
  keepProxy: boolean,
): Unrouted {
  // keep-proxy-ndp: the routes go, the proxy entries stay.
  const keep = (changes: KernelChange[]) =>
    keepProxy
      ? changes.map(
          (c): KernelChange =>
            c.kind === 'unhost'
              ? { kind: 'route', verb: 'del', address: c.address, dev: c.tap, table: c.table }
              : c,
        )
      : changes;
  if (live) {
    const held = recorded
      ? [recorded]
      : routed.map((r) => ({
          table: r.table.id,
          uplink: r.uplink.device,
          addresses: routedTo(exec, r.table.id, tap),
        }));
    const routes = held.filter((r) => r.addresses.length > 0);
    applyChanges(exec, keep(routes.flatMap((r) => unplugChanges(r, tap, undefined))));
    const addresses = routes.flatMap((r) => r.addresses);
    return addresses.length > 0 ? { said: `routes of ${addresses.join(' ')} removed` } : {};
  }
  if (keepProxy) return {};
  const orphans = routed
    .filter((r) => r.subnet6 !== undefined)
    .flatMap((r) => {
      // Proxies first: nic up adds a guest's /128 before its proxy entry, so a proxy read here has
      // its route by the time the routes are read, even while another hook plugs a guest.
      const proxies = proxiesOn(exec, r.uplink.device);
      const hosted = hostedIn(exec, r.table.id);
      return proxies
        .filter((a) => !hosted.has(a))
        .map((address) => ({ kind: 'proxy', verb: 'del', address, dev: r.uplink.device }) as const);
    });
  applyChanges(exec, orphans);
  return orphans.length > 0
    ? { said: `${plural(orphans.length, 'orphan proxy-NDP entry', 'orphan proxy-NDP entries')} removed` }
    : {};
}
