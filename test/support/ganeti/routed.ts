// A cluster with routed networks of every kind (untagged with IPv6, tagged as the seed's VLAN 993
// demo, one with a router node) beside a bridged VLAN, and the mistakes the spec tests make in it.

/** Valid: three routed networks and a bridged one, guests on each. */
export const ROUTED = `name: routed

uplink:
  subnet: 192.168.122.0/24
  gateway: 192.168.122.1
  bridge: br0
  ports: [eth0]

interfaces:
  eth1: {}
  eth2: {}
  eno1: {}
  eno2: {}
  bond0: { bond: { slaves: [eno1, eno2] } }

nodes:
  node1: { address: 192.168.122.11 }
  node2: { address: 192.168.122.12 }

networks:
  public:
    mode: routed
    trunk: eth1
    subnet: 192.0.2.0/24
    gateway: 192.0.2.1
    table: 500
    subnet6: 2001:db8::/64
    gateway6: 2001:db8::1
  tagged: { mode: routed, trunk: bond0, vlan: 993, subnet: 62.217.124.48/29, gateway: 62.217.124.49, arpAddress: 62.217.124.54 }
  internal: { mode: routed, trunk: eth2, subnet: 10.50.0.0/24, gateway: 10.50.0.1, router: node1 }
  vlan104: { mode: bridged, trunk: bond0, vlan: 104, subnet: 62.217.124.0/27, gateway: 62.217.124.1 }

guests:
  vm1:
    node: node1
    nics:
      - { network: public, mac: "52:54:00:00:01:01", address: 192.0.2.10, address6: "2001:db8::10" }
      - { network: internal, address: 10.50.0.10 }
  vm2:
    node: node2
    nics:
      - { network: public, mac: "52:54:00:00:02:01", address: 192.0.2.11 }
      - { network: tagged, address: 62.217.124.53 }
  vm3: { node: node1, nics: [{ network: vlan104, mac: "52:54:00:00:03:01", address: 62.217.124.10 }] }
`;

/** One mistake: the edits that make it, in order, and the problems check reports. */
export interface RoutedCase {
  readonly name: string;
  readonly edits: readonly (readonly [string, string])[];
  readonly expected: readonly string[];
}

/**
 * Synnefo's four network flavours (F27, seed-requirements §5.3) in one cluster: IP_LESS_ROUTED
 * (public, IPv4 and IPv6), MAC_FILTERED (two private networks on prv0), PHYSICAL_VLAN (two from a
 * pool of bridge+VLAN pairs) and CUSTOM (one bridge, its router upstream).
 */
export const FLAVOURS = `name: synnefo

uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }

interfaces:
  eth1: {}
  eno1: {}
  eno2: {}
  bond0: { bond: { slaves: [eno1, eno2] } }

vlanPools:
  prv: { trunk: bond0, base: 400, size: 20 }

nodes:
  node1: { address: 192.168.122.11 }
  node2: { address: 192.168.122.12 }

networks:
  snf-public: { mode: routed, trunk: eth1, subnet: 192.0.2.0/24, gateway: 192.0.2.1, subnet6: "2001:db8::/64", gateway6: "2001:db8::1" }
  filtered-a: { mode: private, trunk: bond0, vlan: 990, macPrefix: "aa:00:10", subnet: 192.168.0.0/24 }
  filtered-b: { mode: private, trunk: bond0, vlan: 990, macPrefix: "aa:00:20", subnet: 192.168.0.0/24 }
  vlan-a: { mode: private, pool: prv, subnet: 192.168.0.0/24 }
  vlan-b: { mode: private, pool: prv, subnet: 192.168.0.0/24 }
  custom: { mode: bridged, trunk: bond0, vlan: 100, bridge: br100, subnet: 203.0.113.0/24, gateway: 203.0.113.1 }

guests:
  vm1: { node: node1, nics: [{ network: snf-public, mac: "52:54:00:00:00:01", address: 192.0.2.10 }] }
  vm2: { node: node2, nics: [{ network: filtered-a, mac: "aa:00:10:00:00:02", address: 192.168.0.2 }] }
  vm3: { node: node1, nics: [{ network: filtered-b, mac: "aa:00:20:00:00:03", address: 192.168.0.3 }] }
  vm4: { node: node2, nics: [{ network: vlan-a, mac: "52:54:00:00:00:04", address: 192.168.0.4 }] }
  vm5: { node: node1, nics: [{ network: custom, mac: "52:54:00:00:00:05", address: 203.0.113.5, address6: "2001:db8:100::5" }] }
`;
