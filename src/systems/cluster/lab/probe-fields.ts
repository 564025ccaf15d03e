// What issue 15's check fields ask of a probe's client: which of its NICs it sends from, the MAC or
// spoofed source it takes first, a ping's size, who listens for a multicast or broadcast datagram and
// who must receive it, the address a garp announces, the link a failover check cuts.
import { contains } from '../../../util/ipv4.ts';
import { SEGMENT_PROTOS } from '../check-fields.ts';
import type { Check, CheckProto, Cluster, HostRef, Nic } from '../model.ts';
import type { Topology } from './topology.ts';

export interface ClientFields {
  /** The client's interface: a guest's eth<index>, a node's bridge; undefined: the route decides. */
  readonly iface?: string;
  /** tcp, udp: the address the client adds and sends from. */
  readonly source?: number;
  /** A check from one NIC of a guest ("vm1:1"): the NIC's own address it sends from (the guest routes it out of that NIC). */
  readonly bind?: number;
  readonly mac?: string;
  /** ping: payload size, sent with "don't fragment". */
  readonly size?: number;
  readonly blocked: boolean;
  /** multicast, broadcast: the hosts that listen (every guest but the client) and those that must receive. */
  readonly listeners?: readonly string[];
  readonly receivers?: readonly string[];
  /** garp: the address announced, and the MAC it belongs to. */
  readonly announce?: { readonly address: number; readonly owner: string; readonly mac?: string };
  /** failover: the switch port (upstream) of the node's link. */
  readonly cut?: { readonly node: string; readonly link: string; readonly port: string };
  /** It changes the client or a peer, or listens everywhere: it runs alone, after the others. */
  readonly alone: boolean;
}

/** Where a multicast or broadcast check sends: a link-local group (never snooped away), or everyone. */
export const MULTICAST_GROUP = 0xe00000c8; // 224.0.0.200
export const BROADCAST = 0xffffffff;
/** VRRP's group (RFC 5798): link-local, so never routed, never steered (F37). */
export const VRRP_GROUP = 0xe0000012; // 224.0.0.18
export const segmentAddress = (proto: CheckProto) =>
  proto === 'multicast' ? MULTICAST_GROUP : proto === 'vrrp' ? VRRP_GROUP : BROADCAST;

/** Checks whose answer comes from the address dialled (not a segment, not an announcement). */
export const answersByAddress = (check: Check) => !SEGMENT_PROTOS.has(check.proto) && check.proto !== 'garp';

export function nicOf(cluster: Cluster, ref: HostRef): Nic | undefined {
  if (ref.kind !== 'guest') return undefined;
  return cluster.guests.find((g) => g.name === ref.name)?.nics[ref.nic ?? 0];
}

const subnetOf = (cluster: Cluster, network: string) =>
  [...cluster.networks, ...cluster.bridged].find((n) => n.name === network)?.subnet;

/** The guest client's NIC: the one named, the one on the check's network, the one in the address's subnet, else NIC 0. */
function clientNic(cluster: Cluster, check: Check, address: number): Nic | undefined {
  const { from, to } = check;
  if (from.kind !== 'guest') return undefined;
  const nics = cluster.guests.find((g) => g.name === from.name)?.nics ?? [];
  if (from.nic !== undefined) return nics[from.nic];
  if (to.kind === 'network') return nics.find((n) => n.network === to.name);
  return (
    nics.find((n) => {
      const subnet = subnetOf(cluster, n.network);
      return subnet !== undefined && contains(subnet, address);
    }) ?? nics[0]
  );
}

export function clientFields(
  cluster: Cluster,
  topology: Topology,
  check: Check,
  address: number,
): ClientFields {
  if (check.proto === 'vrrp') return vrrpFields(cluster, check);
  const nic = clientNic(cluster, check, address);
  const segment = SEGMENT_PROTOS.has(check.proto);
  const to = check.to;
  const nodeBridge =
    check.from.kind === 'node' && to.kind === 'network'
      ? [...cluster.bridged, ...cluster.networks].find((n) => n.name === to.name)?.bridge
      : undefined;
  const source = check.source ? addressOf(cluster, check.source) : undefined;
  const owner = check.source?.kind === 'guest' ? nicOf(cluster, check.source) : undefined;
  const cut = check.cut;
  const port = cut
    ? topology.switches.flatMap((s) => s.ports).find((p) => p.node === cut.node && p.nic === cut.link)?.port
    : undefined;
  const client = check.from.kind === 'guest' || check.from.kind === 'node' ? check.from.name : '';
  return {
    iface: nic ? `eth${nic.index}` : nodeBridge,
    source: check.proto === 'garp' ? undefined : source,
    bind:
      check.from.kind === 'guest' && check.from.nic !== undefined && check.family !== 6
        ? nic?.address
        : undefined,
    mac: check.mac,
    size: check.size,
    blocked: check.expect.blocked === true,
    listeners: segment ? cluster.guests.map((g) => g.name).filter((g) => g !== client) : undefined,
    receivers: segment ? (check.expect.receivers ?? []).map(nameOf) : undefined,
    announce:
      check.proto === 'garp' && source !== undefined && check.source
        ? { address: source, owner: nameOf(check.source), mac: owner?.mac }
        : undefined,
    cut: cut && port ? { ...cut, port } : undefined,
    alone:
      segment ||
      check.proto === 'garp' ||
      check.mac !== undefined ||
      check.source !== undefined ||
      !!cut ||
      check.expect.through !== undefined,
  };
}

/** vrrp: out of the sender's uplink bridge; every other node and every guest listens, "to" must receive it. */
function vrrpFields(cluster: Cluster, check: Check): ClientFields {
  const from = nameOf(check.from);
  return {
    iface: cluster.nodes.find((n) => n.name === from)?.uplinkBridge,
    blocked: check.expect.blocked === true,
    listeners: [...cluster.nodes.map((n) => n.name), ...cluster.guests.map((g) => g.name)].filter(
      (h) => h !== from,
    ),
    receivers: check.expect.blocked === true ? [] : [nameOf(check.expect.answers ?? check.to)],
    alone: true,
  };
}

function addressOf(cluster: Cluster, ref: HostRef): number | undefined {
  if (ref.kind === 'address') return ref.address;
  return nicOf(cluster, ref)?.address;
}

const nameOf = (ref: HostRef) =>
  ref.kind === 'guest' || ref.kind === 'node' || ref.kind === 'network' ? ref.name : ref.kind;
