// Guests' NICs on the networks the nodes do not hold an address in (bridged, private, routed): one
// veth per NIC, eth<index> in the guest with the NIC's MAC, address and the network's MTU, its tap on
// the node plugged the way a hypervisor's hook does it. The default route goes via the first NIC
// whose network has a gateway; a later routed NIC routes its own address's traffic by a table of its
// own, as a multi-homed VM is set up. On a routed network the guest's IPv6 router is its tap's
// link-local address (the tap MAC's), the same on every node, which the node's router advertisements
// (features/routed/ra.py) announce with the network's /64.
import { eui64, linkLocal } from '../../../util/ip.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { BridgedNetwork, Cluster, Guest, Nic, RoutedNetwork } from '../model.ts';

export interface LabNic {
  readonly guest: Guest;
  readonly nic: Nic;
  readonly network: BridgedNetwork | RoutedNetwork;
  /** The interface in the guest. */
  readonly ifname: string;
  /** The tap on the node. */
  readonly vif: string;
  readonly mtu: number;
  /** "address/length"; undefined for a NIC without an address. */
  readonly cidr?: string;
  /** The default route of the guest, on its first NIC with a gateway. */
  readonly gateway?: string;
  /** A later NIC's gateway: its own address's traffic leaves by it (a table of its own). */
  readonly sourceGateway?: string;
  /** Routed, with an IPv6 address: the address, the router (the tap's link-local address), and how. */
  readonly v6?: {
    readonly address: string;
    readonly router: string;
    /** The EUI-64 of the MAC: from the router advertisements (SLAAC), as a real guest gets it. */
    readonly slaac: boolean;
    /** The guest's IPv6 default route, from the RA: its first NIC with IPv6 only. */
    readonly default: boolean;
  };
  /** The guest's sysctl settings for this NIC ("net.ipv6.conf.eth1.autoconf=0"), before it comes up. */
  readonly sysctls: readonly string[];
}

export const isRouted = (net: BridgedNetwork | RoutedNetwork): net is RoutedNetwork => 'tapMac' in net;

/** The guest's tap for NIC `index`: vif-<guest> for NIC 0 (as a gateway network's), vif-<guest>-<i> after. */
export function vifName(guest: string, guestIndex: number, index: number): string {
  const suffix = index === 0 ? '' : `-${index}`;
  const full = `vif-${guest}${suffix}`;
  return full.length <= 15 ? full : `vif-${guestIndex + 1}${suffix}`;
}

/** The NICs of every guest that sit on a bridged, private or routed network. */
export function labNics(
  cluster: Cluster,
  trunkMtu: (net: BridgedNetwork | RoutedNetwork) => number,
): LabNic[] {
  const byName = new Map<string, BridgedNetwork | RoutedNetwork>([
    ...cluster.bridged.map((b) => [b.name, b] as const),
    ...cluster.routed.map((r) => [r.name, r] as const),
  ]);
  const gatewayNets = new Set(cluster.networks.map((n) => n.name));
  return cluster.guests.flatMap((guest, gi) => {
    let routes = guest.nics.some((n) => gatewayNets.has(n.network) && n.index === 0);
    let routes6 = false;
    return guest.nics.flatMap((nic): LabNic[] => {
      const network = byName.get(nic.network);
      // A NIC on a gateway network is the topology's (labGuests).
      if (!network) return [];
      const via = network.gateway === undefined ? undefined : formatIPv4(network.gateway);
      const gateway = !routes ? via : undefined;
      if (gateway) routes = true;
      const routed = isRouted(network) ? network : undefined;
      const v6 = routed && nic.address6 !== undefined ? guestV6(routed, nic, !routes6) : undefined;
      if (v6) routes6 = true;
      return [
        {
          guest,
          nic,
          network,
          ifname: `eth${nic.index}`,
          vif: vifName(guest.name, gi, nic.index),
          mtu: network.mtu ?? trunkMtu(network),
          cidr: nic.address === undefined ? undefined : `${formatIPv4(nic.address)}/${network.subnet.length}`,
          gateway,
          sourceGateway: routed && !gateway ? via : undefined,
          v6,
          sysctls: v6 ? guestSysctls(`eth${nic.index}`, v6) : [],
        },
      ];
    });
  });
}

function guestV6(network: RoutedNetwork, nic: Nic, first: boolean): LabNic['v6'] {
  const address = nic.address6 as string;
  const slaac =
    nic.mac !== undefined && network.subnet6 !== undefined && eui64(nic.mac, network.subnet6) === address;
  return { address, router: linkLocal(network.tapMac), slaac, default: first };
}

/**
 * A guest takes its IPv6 address and default route from the RA by default (accept_ra and autoconf
 * are on where forwarding is off). An explicit address6 is no SLAAC address: autoconf off, or the
 * guest would hold the EUI-64 one too and might send from it (dropped by the tap's anti-spoofing).
 * A later NIC takes no default route: one default, on the first NIC, as with IPv4.
 */
function guestSysctls(ifname: string, v6: NonNullable<LabNic['v6']>): string[] {
  return [
    ...(v6.slaac ? [] : [`net.ipv6.conf.${ifname}.autoconf=0`]),
    ...(v6.default ? [] : [`net.ipv6.conf.${ifname}.accept_ra_defrtr=0`]),
  ];
}

/** The table a guest's later NIC routes its own address's traffic by. */
const nicTable = (n: { nic: Nic }) => 100 + n.nic.index;

/** A later NIC's own address leaves by its network's gateway, whatever the default route says. */
export function sourceRouteLines(
  n: { nic: Nic; ifname: string },
  address: string,
  gateway: string,
): string[] {
  return [
    `rule add from ${address} table ${nicTable(n)}`,
    `route add default via ${gateway} dev ${n.ifname} table ${nicTable(n)}`,
  ];
}

/**
 * The guest's own lines: its NIC up with its MTU and address, the default route. IPv6 comes from the
 * node's router advertisements; only an explicit address6 is added here, without an on-link prefix
 * (noprefixroute, as the RA's L=0 does for SLAAC): everything, other guests included, goes to the
 * tap, which is how a routed network's guests reach each other (the tap does not proxy NDP).
 */
export function guestNicLines(n: LabNic): string[] {
  const address = n.cidr?.split('/')[0];
  return [
    `link set ${n.ifname} mtu ${n.mtu} up`,
    ...(n.cidr ? [`address add ${n.cidr} dev ${n.ifname}`] : []),
    ...(n.gateway ? [`route add default via ${n.gateway} dev ${n.ifname}`] : []),
    ...(n.sourceGateway && address ? sourceRouteLines(n, address, n.sourceGateway) : []),
    ...(n.v6 && !n.v6.slaac ? [`address add ${n.v6.address}/64 dev ${n.ifname} noprefixroute`] : []),
  ];
}
