// What the lab's checks mean on an IP-less routed network: which address a check dials (IPv4 or
// IPv6), where "gateway" runs as a client (the upstream router, or the router node), what an ARP
// question asks with and who must answer it: toward a guest the tap MAC, toward the gateway the
// hosting node's uplink device.
import { contains, formatIPv4 } from '../../../util/ipv4.ts';
import type { Check, Cluster, Guest, HostRef, Nic, RoutedNetwork } from '../model.ts';
import { vifName } from './guest-nics.ts';
import { type Topology, UPSTREAM } from './topology.ts';

/** A guest NIC on a routed network: the guest, its NIC, its network and its tap. */
export interface RoutedNic {
  readonly guest: Guest;
  readonly nic: Nic;
  readonly network: RoutedNetwork;
  readonly tap: string;
}

export interface RoutedProbe {
  readonly network: RoutedNetwork;
  /** The guest NIC the check is about: the client's, else the one dialled. */
  readonly guest?: RoutedNic;
  /** Where "gateway" runs: the upstream router, or the router node. */
  readonly gatewayHost: string;
  /** The gateway's interface on the network: the upstream's switch device, or the router node's uplink device. */
  readonly gatewayIface: string;
  /** arp: the sender address of the question (proxy ARP does not answer a probe from 0.0.0.0). */
  readonly sender?: string;
  /** arp from the gateway: the node whose uplink device must answer (its MAC is read when the check runs). */
  readonly answersNode?: string;
}

export function routedNicOf(cluster: Cluster, ref: HostRef): RoutedNic | undefined {
  if (ref.kind !== 'guest') return undefined;
  const gi = cluster.guests.findIndex((g) => g.name === ref.name);
  const guest = cluster.guests[gi];
  const nic = guest?.nics[ref.nic ?? 0];
  const network = cluster.routed.find((r) => r.name === nic?.network);
  if (!guest || !nic || !network) return undefined;
  return { guest, nic, network, tap: vifName(guest.name, gi, nic.index) };
}

/** The routed network a check runs on: its client's NIC's, its target's, or the one holding the address dialled. */
function routedNetworkOf(cluster: Cluster, check: Check): RoutedNic | RoutedNetwork | undefined {
  const nic = routedNicOf(cluster, check.from) ?? routedNicOf(cluster, check.to);
  if (nic) return nic;
  const to = check.to;
  if (to.kind !== 'address') return undefined;
  const { address } = to;
  return cluster.routed.find((r) => contains(r.subnet, address));
}

/** The routed side of a check, when it has one. */
export function routedProbe(cluster: Cluster, topology: Topology, check: Check): RoutedProbe | undefined {
  const found = routedNetworkOf(cluster, check);
  if (!found) return undefined;
  const guest = 'nic' in found ? found : undefined;
  const network = 'nic' in found ? found.network : found;
  const onSwitch = topology.switches.flatMap((s) => s.gateways).find((g) => g.network === network.name);
  const gatewayHost = network.router ?? UPSTREAM;
  const gatewayIface = network.router !== undefined ? network.uplink.device : (onSwitch?.device ?? '');
  const arp = check.proto === 'arp';
  const fromGateway = check.from.kind === 'gateway';
  const six = check.family === 6;
  const v4 = guest?.nic.address;
  const own = six ? guest?.nic.address6 : v4 === undefined ? undefined : formatIPv4(v4);
  const sender = !arp
    ? undefined
    : fromGateway
      ? six
        ? network.gateway6
        : formatIPv4(network.gateway)
      : own;
  const answersNode =
    arp && fromGateway && check.expect.answers?.kind === 'node' ? check.expect.answers.name : undefined;
  return { network, guest, gatewayHost, gatewayIface, sender, answersNode };
}

/** The address a check dials on a routed network, or in IPv6; undefined: the usual rules apply. */
export function routedDial(
  cluster: Cluster,
  topology: Topology,
  check: Check,
  routed: RoutedProbe | undefined,
): string | undefined {
  const to = check.to;
  const six = check.family === 6;
  if (to.kind === 'workstation') return six ? topology.workstation.v6?.address : undefined;
  if (to.kind === 'gateway' && routed)
    return six ? routed.network.gateway6 : formatIPv4(routed.network.gateway);
  const target = routedNicOf(cluster, to);
  if (target && six) return target.nic.address6;
  if (six && to.kind === 'guest')
    return cluster.guests.find((g) => g.name === to.name)?.nics[to.nic ?? 0]?.address6;
  return undefined;
}

/** The address a host is seen from, in the check's family; undefined: the usual rules apply. */
export function routedSees(
  cluster: Cluster,
  topology: Topology,
  check: Check,
  host: HostRef,
  routed: RoutedProbe | undefined,
): string | undefined {
  const six = check.family === 6;
  if (host.kind === 'gateway' && routed)
    return six ? routed.network.gateway6 : formatIPv4(routed.network.gateway);
  if (!six) return undefined;
  if (host.kind === 'workstation') return topology.workstation.v6?.address;
  return host.kind === 'guest'
    ? cluster.guests.find((g) => g.name === host.name)?.nics[host.nic ?? 0]?.address6
    : undefined;
}
