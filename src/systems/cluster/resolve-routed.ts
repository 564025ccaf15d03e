// Resolving the IP-less routed networks (mode routed): their routing tables (the VLAN's number when
// tagged, as the seed's "993 public_993"; otherwise allocated stably), ARP address, IPv6 prefix and
// the tap MAC. Assumes validate() found no problems.
import { lastAddress } from '../../util/ipv4.ts';
import type { RoutedNetwork } from './model.ts';
import type { ClusterSpec, NetworkSpec } from './schema.ts';

/** gnt-networking's TAP_CONSTANT_MAC: every routed tap, on every node, shows the guest this MAC. */
export const TAP_MAC = 'cc:47:52:4e:45:54';

/** The first table number allocated to an untagged network without "table:". */
export const FIRST_TABLE = 100;

/** The tables iproute2's rt_tables names already: no network may take their number or name. */
export const RESERVED_TABLES: ReadonlyMap<number, string> = new Map([
  [0, 'unspec'],
  [253, 'default'],
  [254, 'main'],
  [255, 'local'],
]);

export function resolveRouted(spec: ClusterSpec): RoutedNetwork[] {
  const entries = Object.entries(spec.networks).filter(([, n]) => n.mode === 'routed');
  const tables = allocateTables(entries);
  return entries.map(([name, net]) => {
    const trunk = net.trunk as string;
    const table = tables.get(name) as { id: number; allocated: boolean };
    return {
      name,
      subnet: net.subnet,
      gateway: net.gateway as number,
      arpAddress: net.arpAddress ?? lastAddress(net.subnet) - 1,
      table: { ...table, name },
      uplink: {
        trunk,
        vlan: net.vlan,
        device: net.vlan === undefined ? trunk : `${trunk}.${net.vlan}`,
      },
      mtu: net.mtu,
      subnet6: net.subnet6,
      gateway6: net.gateway6,
      tapMac: net.tapMac ?? TAP_MAC,
      router: net.router,
      path: ['networks', name],
    };
  });
}

/**
 * Pinned tables (by default a routed network's `table`, else its VLAN) kept; the others the lowest
 * free from FIRST_TABLE, in order, past `taken` and iproute2's own (`allocated`: those alone depend
 * on the order of the networks, and `check` says to pin them).
 */
export function allocateTables(
  entries: [string, NetworkSpec][],
  pinned: (net: NetworkSpec) => number | undefined = (net) => net.table ?? net.vlan,
  taken: ReadonlySet<number> = new Set(),
): Map<string, { id: number; allocated: boolean }> {
  const out = new Map<string, { id: number; allocated: boolean }>();
  const used = new Set(taken);
  for (const [name, net] of entries) {
    const id = pinned(net);
    if (id === undefined) continue;
    out.set(name, { id, allocated: false });
    used.add(id);
  }
  let next = FIRST_TABLE;
  for (const [name] of entries) {
    if (out.has(name)) continue;
    while (used.has(next) || RESERVED_TABLES.has(next)) next++;
    used.add(next);
    out.set(name, { id: next, allocated: true });
  }
  return out;
}
