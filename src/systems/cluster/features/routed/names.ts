// The names the routed networks' tables are made of (F18-F20, F25 on routed taps). The compiled
// ruleset declares them (compile.ts) and `convergent nic up|down` fills and empties them
// (elements.ts, systems/cluster/nic/): both read them here.

/** The inet table of routed guest ports: anti-spoofing from the taps, firewall profiles toward them. */
export const ROUTED_TABLE = 'convergent_routed';

/** The arp table: the source address of the ARP requests the node sends (gnt-networking's arptables mangle). */
export const ARP_TABLE = 'convergent_arp';

/** Sets and maps of ROUTED_TABLE, keyed by the tap's interface name first (nic down finds a tap's elements by it). */
export const ROUTED_SETS = {
  /** tap: every routed tap `nic up` plugged (created, not added: see nic/up.ts). */
  plugged: 'plugged',
  /** tap . IPv4: the NIC's address, the one IPv4 source its tap accepts. */
  ipv4: 'tap_ipv4',
  /** tap . IPv6: the NIC's address6 (or EUI-64) and its link-local address. */
  ipv6: 'tap_ipv6',
  /** tap : verdict, from the guest (prerouting): jump to anti-spoofing. */
  fromGuest: 'from_guest',
  /** tap : verdict, toward the guest (forward): jump to its firewall profile. */
  toProfile: 'to_profile',
} as const;

/** The map of ARP_TABLE: outgoing interface -> the sender address its ARP requests carry. */
export const ARP_SOURCE = 'arp_source';

export const ROUTED_CHAINS = {
  antispoof: 'antispoof',
  protected: 'protected',
  limited: 'limited',
  fromGuest: 'from_guest_hook',
  toGuest: 'to_guest_forward',
  /** Base chain at input: what routed taps send to the node itself. */
  toNode: 'to_node_input',
  guestToNode: 'guest_to_node',
  arpOutput: 'arp_output',
} as const;
