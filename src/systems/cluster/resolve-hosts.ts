// Resolving what seed 003 adds to a cluster: each node's interfaces (the cluster's, then its own),
// the networks the nodes only bridge (with their bridge names and pool slots filled in), and the
// guests' NICs. Assumes validate() found no problems.
import { eui64 } from '../../util/ip.ts';
import type { BridgedNetwork, Guest, Nic, NodeInterface } from './model.ts';
import type { ClusterSpec, InterfaceSpec, NetworkSpec } from './schema.ts';

const VLAN_NAME = /^(.+)\.(\d+)$/;

/** A node's interfaces: the cluster's with the node's own added or replacing, parents first. */
export function resolveInterfaces(spec: ClusterSpec, node: string): NodeInterface[] {
  const own = spec.nodes[node]?.interfaces ?? {};
  const merged = new Map<string, { spec: InterfaceSpec; path: (string | number)[] }>();
  for (const [name, i] of Object.entries(spec.interfaces))
    merged.set(name, { spec: i, path: ['interfaces', name] });
  for (const [name, i] of Object.entries(own))
    merged.set(name, { spec: i, path: ['nodes', node, 'interfaces', name] });
  const all = [...merged].map(([name, { spec: i, path }]) => interfaceOf(name, i, path));
  // NICs first, then bonds (over NICs), then VLANs (over either): the order they are created in.
  const rank = { nic: 0, bond: 1, vlan: 2 } as const;
  return all.sort((a, b) => rank[a.kind] - rank[b.kind]);
}

function interfaceOf(name: string, i: InterfaceSpec, path: (string | number)[]): NodeInterface {
  const mtu = i.mtu;
  if (i.bond)
    return {
      kind: 'bond',
      name,
      mtu,
      mode: i.bond.mode,
      slaves: i.bond.slaves,
      primary: i.bond.primary,
      miimon: i.bond.miimon,
      xmitHashPolicy: i.bond.mode === '802.3ad' ? (i.bond.xmitHashPolicy ?? 'layer3+4') : undefined,
      path,
    };
  const named = VLAN_NAME.exec(name);
  if (i.vlan) return { kind: 'vlan', name, mtu, parent: i.vlan.parent, id: i.vlan.id, path };
  if (named) return { kind: 'vlan', name, mtu, parent: named[1] as string, id: Number(named[2]), path };
  return { kind: 'nic', name, mtu, path };
}

/** The networks of modes bridged and private, in spec order, pool slots allocated. */
export function resolveBridged(spec: ClusterSpec): BridgedNetwork[] {
  const entries = Object.entries(spec.networks).filter(
    ([, n]) => n.mode === 'bridged' || n.mode === 'private',
  );
  const slots = allocateSlots(entries);
  return entries.map(([name, net]) => bridgedNetwork(spec, name, net, slots.get(name)));
}

function bridgedNetwork(
  spec: ClusterSpec,
  name: string,
  net: NetworkSpec,
  slot: { slot: number; allocated: boolean } | undefined,
): BridgedNetwork {
  const pool = net.pool === undefined ? undefined : spec.vlanPools[net.pool];
  const trunk = pool?.trunk ?? net.trunk;
  const vlan = pool && slot ? pool.base + slot.slot : net.vlan;
  const bridge =
    net.bridge ??
    (pool && slot
      ? `${pool.bridgePrefix}${slot.slot}`
      : net.mode === 'private'
        ? 'prv0'
        : net.vlan === undefined
          ? name.slice(0, 15)
          : `vlan${net.vlan}`);
  return {
    name,
    mode: net.mode as 'bridged' | 'private',
    bridge,
    subnet: net.subnet,
    gateway: net.gateway,
    uplink:
      trunk === undefined
        ? undefined
        : { trunk, vlan, device: vlan === undefined ? trunk : `${trunk}.${vlan}` },
    mtu: net.mtu,
    macPrefix: net.macPrefix,
    pool:
      net.pool !== undefined && slot
        ? { name: net.pool, slot: slot.slot, slotAllocated: slot.allocated }
        : undefined,
    path: ['networks', name],
  };
}

/** Pool slots: pinned ones kept, the others the lowest free in order of appearance (stable when appending). */
function allocateSlots(entries: [string, NetworkSpec][]): Map<string, { slot: number; allocated: boolean }> {
  const out = new Map<string, { slot: number; allocated: boolean }>();
  const taken = new Map<string, Set<number>>();
  for (const [name, net] of entries)
    if (net.pool !== undefined && net.slot !== undefined) {
      out.set(name, { slot: net.slot, allocated: false });
      taken.set(net.pool, (taken.get(net.pool) ?? new Set()).add(net.slot));
    }
  for (const [name, net] of entries) {
    if (net.pool === undefined || net.slot !== undefined) continue;
    const used = taken.get(net.pool) ?? new Set<number>();
    let slot = 1;
    while (used.has(slot)) slot++;
    used.add(slot);
    taken.set(net.pool, used);
    out.set(name, { slot, allocated: true });
  }
  return out;
}

const transit = (spec: ClusterSpec, network: string | undefined): boolean =>
  network !== undefined && spec.networks[network]?.transit === true;

/** Guests with their NICs; the one-NIC form (network/address/mac on the guest) is NIC 0. */
export function resolveGuests(spec: ClusterSpec, onlyNetwork: string | undefined): Guest[] {
  return Object.entries(spec.guests).map(([name, g]) => {
    const path = ['guests', name];
    const nics: Nic[] = g.nics
      ? g.nics.map((n, index) => ({
          guest: name,
          index,
          network: (n.network ?? onlyNetwork) as string,
          mac: n.mac,
          address: n.address,
          address6: n.address6 ?? slaac(spec, n.network ?? onlyNetwork, n.mac),
          firewall: n.firewall,
          // F38: an appliance's transit port forwards others' packets; anti-spoofing would drop them.
          spoof: transit(spec, n.network ?? onlyNetwork) ? 'allow' : n.spoof,
          floating: n.floating,
          path: [...path, 'nics', index],
        }))
      : [
          {
            guest: name,
            index: 0,
            network: (g.network ?? onlyNetwork) as string,
            mac: g.mac,
            address: g.address,
            firewall: 'unprotected',
            spoof: transit(spec, g.network ?? onlyNetwork) ? 'allow' : 'drop',
            floating: g.floating,
            path,
          },
        ];
    const first = nics[0] as Nic;
    return {
      name,
      node: g.node,
      network: first.network,
      address: first.address as number,
      mac: first.mac,
      nics,
      path,
    };
  });
}

/** A NIC on a routed network with an IPv6 /64 and no address6: the EUI-64 of its MAC (gnt-networking's). */
function slaac(spec: ClusterSpec, network: string | undefined, mac: string | undefined): string | undefined {
  const net = network === undefined ? undefined : spec.networks[network];
  if (net?.mode !== 'routed' || net.subnet6 === undefined || mac === undefined) return undefined;
  return eui64(mac, net.subnet6);
}
