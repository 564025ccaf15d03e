// The names the guest-ports table is made of. The compiled ruleset declares them (compile.ts) and
// `convergent nic up|down` fills and empties them (elements.ts, systems/cluster/nic/): both read
// them here, so a renamed set cannot leave the hooks adding elements to a set that no longer exists.

/** The bridge-family table of guest ports: its own, so reloading it never touches another's. */
export const PORTS_TABLE = 'convergent_ports';

/** Sets and maps, keyed by the port (the tap's interface name) first: nic down finds a tap's elements by it. */
export const PORT_SETS = {
  /**
   * port: every tap `nic up` plugged, added in the same transaction as its other elements and removed
   * with them. nic up *creates* it (an error when present), so a tap without stale elements is plugged
   * without reading the sets (nft reads a 10,000-element set in 0.1 s or more): see nic/up.ts.
   */
  plugged: 'plugged',
  /** port . MAC: the one source MAC a guest's port accepts (F20, and F23's "a guest sends only from its own MAC"). */
  mac: 'port_mac',
  /** port . MAC . IPv4: the NIC's address, as IP source and as ARP sender. */
  ipv4: 'port_ipv4',
  /** port . MAC . IPv6: the NIC's address6 and the EUI-64 link-local address of its MAC. */
  ipv6: 'port_ipv6',
  /** port : verdict, from the guest (prerouting): jump to anti-spoofing or to the MAC check alone. */
  fromGuest: 'from_guest',
  /** port : verdict, toward the guest (forward, output): jump to its private network's prefix filter. */
  toPrivate: 'to_private',
  /** port : verdict, toward the guest (forward, output): jump to its firewall profile. */
  toProfile: 'to_profile',
} as const;

export type PortSet = (typeof PORT_SETS)[keyof typeof PORT_SETS];

/** The chains the maps jump to, and the base chains. */
export const PORT_CHAINS = {
  antispoof: 'antispoof',
  ownMac: 'own_mac',
  protected: 'protected',
  limited: 'limited',
  fromGuest: 'from_guest_hook',
  toGuestForward: 'to_guest_forward',
  toGuestOutput: 'to_guest_output',
} as const;

/** The prefix filter of one private network (F23): "prefix_private_a" for private-a. */
export function privateChain(network: string): string {
  return `prefix_${network.replaceAll('-', '_')}`;
}

/** gnt-networking's MAC_MASK: a private network's prefix is the MAC's first 20 bits. */
export const MAC_PREFIX_MASK = 'ff:ff:f0:00:00:00';

/** "aa:00:10" -> "aa:00:10:00:00:00", the prefix as a MAC under MAC_PREFIX_MASK. */
export function prefixMac(macPrefix: string): string {
  const octets = macPrefix.toLowerCase().split(':');
  while (octets.length < 6) octets.push('00');
  return octets.join(':');
}
