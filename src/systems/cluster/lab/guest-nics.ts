// Guests' NICs on the networks the nodes do not hold an address in (bridged, private, routed): one
// veth per NIC, eth<index> in the guest with the NIC's MAC, address and the network's MTU, its tap on
// the node plugged the way a hypervisor's hook does it. The default route goes via the first NIC
// whose network has a gateway; a later routed NIC routes its own address's traffic by a table of its
// own, as a multi-homed VM is set up. On a routed network the guest's IPv6 router is its tap's
// link-local address (the tap MAC's), the same on every node.
import { LabError } from '../../../lab/errors.ts';
import { linkLocal } from '../../../util/ip.ts';
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
  /** Routed, with an IPv6 address: "address6/64" and the router (the tap's link-local address). */
  readonly v6?: { readonly cidr: string; readonly router: string; readonly default: boolean };
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
      if (!network) {
        if (nic.index > 0)
          throw new LabError(
            `guest ${guest.name}'s NIC ${nic.index} is on gateway network ${nic.network}: the lab plugs a guest into a gateway network by its first NIC only`,
          );
        return [];
      }
      const via = network.gateway === undefined ? undefined : formatIPv4(network.gateway);
      const gateway = !routes ? via : undefined;
      if (gateway) routes = true;
      const routed = isRouted(network) ? network : undefined;
      const v6 =
        routed && nic.address6 !== undefined
          ? { cidr: `${nic.address6}/64`, router: linkLocal(routed.tapMac), default: !routes6 }
          : undefined;
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
        },
      ];
    });
  });
}

/** The table a guest's later NIC routes its own address's traffic by. */
const nicTable = (n: LabNic) => 100 + n.nic.index;

/**
 * The guest's own lines: its NIC up with its MTU and address, the default route. IPv6 without an
 * on-link prefix (noprefixroute): everything, other guests included, goes to the tap, which is how a
 * routed network's guests reach each other (the tap does not proxy NDP).
 */
export function guestNicLines(n: LabNic): string[] {
  const address = n.cidr?.split('/')[0];
  return [
    `link set ${n.ifname} mtu ${n.mtu} up`,
    ...(n.cidr ? [`address add ${n.cidr} dev ${n.ifname}`] : []),
    ...(n.gateway ? [`route add default via ${n.gateway} dev ${n.ifname}`] : []),
    ...(n.sourceGateway && address
      ? [
          `rule add from ${address} table ${nicTable(n)}`,
          `route add default via ${n.sourceGateway} dev ${n.ifname} table ${nicTable(n)}`,
        ]
      : []),
    ...(n.v6
      ? [
          `address add ${n.v6.cidr} dev ${n.ifname} nodad noprefixroute`,
          // A later NIC's IPv6 is reached, not used to reach out: no second default.
          ...(n.v6.default ? [`route add ::/0 via ${n.v6.router} dev ${n.ifname}`] : []),
        ]
      : []),
  ];
}
