// `nic up` for a NIC on a routed network (F18, F19, F22): no bridge. The node routes the guest's
// addresses to its tap in the network's table and answers ARP and NDP for them on the uplink; the tap
// answers every ARP of the guest (proxy ARP) with the network's tap MAC, the same on every node, so a
// migrated guest sees no change. Refused (nothing changed) before the first change: the uplink device
// missing, the tables not loaded (the first transaction, which nft refuses whole). Then the tap's
// elements go in, and in one more process (kernel.ts) the tap's stale routes go and the plug is
// made: link, sysctls, routes, the proxy-NDP entry, and the announcement. No rule, no reload, no
// table listed for a fresh tap: the same cost on a node with 10,000 guests as with 10.

import { formatIPv4 } from '../../../util/ipv4.ts';
import type { Fault } from '../../faults.ts';
import { type RoutedGuard, routedGuard } from '../features/routed/elements.ts';
import { ARP_TABLE, ROUTED_TABLE } from '../features/routed/names.ts';
import { isPlugged } from './elements.ts';
import type { RoutedPlug } from './find.ts';
import { applyChanges, type KernelChange } from './kernel.ts';
import { plugElements } from './plug.ts';
import { readRecord, recordOf, type TapRecord, type TapRoutes } from './record.ts';
import { type Exec, NicRefused } from './refused.ts';
import { plugChanges, routedTo, tapSysctls, unplugChanges } from './routes.ts';
import type { Link } from './state.ts';
import type { Plugged } from './up.ts';

export function plugRouted(
  exec: Exec,
  plug: RoutedPlug,
  tap: string,
  tapLink: Link,
  uplink: Link | undefined,
  faults: readonly Fault[],
): Plugged {
  const net = plug.network;
  if (!uplink)
    throw new NicRefused(
      `no device ${net.uplink.device} on this node for ${plug.ref}'s routed network ${net.name}`,
      "apply the node's network.sh first (it creates the routed networks' uplink devices, rules and tables)",
    );
  const guard = routedGuard(plug.nic, net, tap);
  const v4 = plug.nic.address === undefined ? undefined : formatIPv4(plug.nic.address);
  const v6 = plug.nic.address6;
  const routes: TapRoutes = {
    table: net.table.id,
    uplink: net.uplink.device,
    addresses: [v4, v6].filter((a): a is string => a !== undefined),
  };
  // The fault no-arp-source leaves the arp table out of the ruleset: nothing of it to fill.
  const noArp = faults.includes('no-arp-source');
  const own = guard.elements.filter((e) => !isPlugged(e) && !(noArp && e.family === 'arp'));
  const record: TapRecord = { elements: own, routes };
  const old = readRecord(tapLink.ifalias, tap);
  const done = plugElements(exec, record, tap, tapLink.ifalias);
  if (!done)
    throw new NicRefused(
      `table inet ${ROUTED_TABLE} or arp ${ARP_TABLE} is not loaded on this node (or is older than this spec)`,
      "load the node's rules first: nft -f nftables.conf (the hook adds elements to its sets, never rules)",
    );
  // A stale plug of this name: its record says what it routed; without one (only a tap that was
  // plugged before can hold our routes: routes go with the device), the tap's routes in the table.
  const stale =
    old?.routes ?? (done.fresh ? undefined : { ...routes, addresses: routedTo(exec, routes.table, tap) });
  const mtu = plug.mtu ?? uplink.mtu;
  const changes: KernelChange[] = [
    ...(stale ? unplugChanges(stale, tap, routes) : []),
    // The MAC before up, so the tap's link-local address (the guests' IPv6 router) is the tap MAC's.
    ...(tapLink.address !== net.tapMac && tapLink.flags?.includes('UP')
      ? [{ kind: 'down', dev: tap } as const]
      : []),
    { kind: 'link', dev: tap, mac: net.tapMac, mtu, alias: recordOf(record) ?? '' },
    ...tapSysctls(tap, !faults.includes('no-tap-proxy-arp'), net.subnet6 !== undefined),
    ...plugChanges(routes, tap),
    ...(faults.includes('no-garp')
      ? []
      : [{ kind: 'announce', uplink: net.uplink.device, ipv4: v4, ipv6: v6 } as const]),
  ];
  const warning = applyChanges(exec, changes);
  return {
    plug,
    tap,
    mtu,
    guard,
    cleared: done.cleared,
    line: describe(plug, tap, mtu, guard, routes),
    ...(warning !== undefined ? { warning } : {}),
  };
}

/** "nic vm1:0 on tap5: routed public (table 500, uplink eth1) mtu 1500, 192.0.2.10 2001:db8::10, anti-spoofing …, profile protected" */
function describe(plug: RoutedPlug, tap: string, mtu: number, guard: RoutedGuard, routes: TapRoutes): string {
  const parts = [
    `routed ${plug.network.name} (table ${routes.table}, uplink ${routes.uplink}) mtu ${mtu}`,
    routes.addresses.join(' ') || 'no address',
    guard.antispoof !== undefined ? `anti-spoofing ${guard.antispoof}` : 'no anti-spoofing (spoof: allow)',
    `profile ${guard.profile ?? 'unprotected'}`,
  ];
  return `nic ${plug.ref} on ${tap}: ${parts.join(', ')}`;
}
