// Guests' NICs on the networks the nodes only bridge (bridged, private): one veth per NIC, eth<index>
// in the guest with the NIC's MAC, address and the network's MTU, its tap on the node plugged the way
// a hypervisor's hook does it. The default route goes via the first NIC whose network has a gateway.
import { LabError } from '../../../lab/errors.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { BridgedNetwork, Cluster, Guest, Nic } from '../model.ts';

export interface LabNic {
  readonly guest: Guest;
  readonly nic: Nic;
  readonly network: BridgedNetwork;
  /** The interface in the guest. */
  readonly ifname: string;
  /** The tap on the node. */
  readonly vif: string;
  readonly mtu: number;
  /** "address/length"; undefined for a NIC without an address. */
  readonly cidr?: string;
  /** The default route of the guest, on its first NIC with a gateway. */
  readonly gateway?: string;
}

/** The guest's tap for NIC `index`: vif-<guest> for NIC 0 (as a gateway network's), vif-<guest>-<i> after. */
export function vifName(guest: string, guestIndex: number, index: number): string {
  const suffix = index === 0 ? '' : `-${index}`;
  const full = `vif-${guest}${suffix}`;
  return full.length <= 15 ? full : `vif-${guestIndex + 1}${suffix}`;
}

/** The NICs of every guest that sit on a bridged or private network. */
export function labNics(cluster: Cluster, trunkMtu: (net: BridgedNetwork) => number): LabNic[] {
  const bridged = new Map(cluster.bridged.map((b) => [b.name, b]));
  const gatewayNets = new Set(cluster.networks.map((n) => n.name));
  return cluster.guests.flatMap((guest, gi) => {
    let routed = guest.nics.some((n) => gatewayNets.has(n.network) && n.index === 0);
    return guest.nics.flatMap((nic): LabNic[] => {
      const network = bridged.get(nic.network);
      if (!network) {
        if (nic.index > 0)
          throw new LabError(
            `guest ${guest.name}'s NIC ${nic.index} is on gateway network ${nic.network}: the lab plugs a guest into a gateway network by its first NIC only`,
          );
        return [];
      }
      const gateway = !routed && network.gateway !== undefined ? formatIPv4(network.gateway) : undefined;
      if (gateway) routed = true;
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
        },
      ];
    });
  });
}

/** The guest's own lines: its NIC up with its MTU and address, and the default route. */
export function guestNicLines(n: LabNic): string[] {
  return [
    `link set ${n.ifname} mtu ${n.mtu} up`,
    ...(n.cidr ? [`address add ${n.cidr} dev ${n.ifname}`] : []),
    ...(n.gateway ? [`route add default via ${n.gateway} dev ${n.ifname}`] : []),
  ];
}
