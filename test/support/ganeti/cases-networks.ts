// check's problems for mistakes in ganeti-seed, second half: networks and guest NICs.
import type { Case } from './fixtures.ts';

export const SEED_CASES_NETWORKS: Case[] = [
  {
    name: 'an untagged network on the uplink port',
    from: 'trunk: bond0, vlan: 104',
    to: 'trunk: bond0',
    expected: [
      'ganeti-seed.yaml:25:36: error: bond0 is already a port of the uplink bridge br0: a link is the slave of one bond or the port of one bridge\n  fix: tag network vlan104 with a VLAN of its own (vlan: N), so that its bridge holds bond0.N',
    ],
  },
  {
    name: "a network's bridge the uplink bridge",
    from: 'gateway: 10.99.2.1 }',
    to: 'gateway: 10.99.2.1, bridge: br0 }',
    expected: [
      "ganeti-seed.yaml:26:115: error: bridge br0 is the uplink bridge, which holds the nodes' own addresses\n  fix: name a bridge of its own: bridge: vlan992",
    ],
  },
  {
    name: "a bridged network on the private networks' bridge",
    from: 'gateway: 10.99.2.1 }',
    to: 'gateway: 10.99.2.1, bridge: prv0 }',
    expected: [
      'ganeti-seed.yaml:26:115: error: bridge prv0 is already the bridge of network private-a; only private networks by MAC prefix share one\n  fix: name a bridge of its own: bridge: vlan992',
    ],
  },
  {
    name: 'private networks on one bridge over different VLANs',
    from: 'private-b: { mode: private, trunk: bond0, vlan: 990',
    to: 'private-b: { mode: private, trunk: bond0, vlan: 991',
    expected: [
      'ganeti-seed.yaml:29:14: error: private networks private-a and private-b share bridge prv0, which has one trunk, VLAN and MTU: private-a has trunk bond0, VLAN 990, private-b trunk bond0, VLAN 991\n  fix: write the trunk, vlan and mtu of network private-a, or give network private-b a bridge of its own (bridge: prv1)',
    ],
  },
  {
    name: 'two private networks with one MAC prefix',
    from: 'macPrefix: "aa:00:20"',
    to: 'macPrefix: "aa:00:10"',
    expected: [
      'ganeti-seed.yaml:29:67: error: macPrefix aa:00:10 is already network private-a\'s: their guests would hear each other\n  fix: write macPrefix: "aa:00:20"',
    ],
  },
  {
    name: "a MAC prefix in the nodes' tag prefix",
    from: 'macPrefix: "aa:00:20"',
    to: 'macPrefix: "0a:00:20"',
    expected: [
      'ganeti-seed.yaml:29:67: error: macPrefix 0a:00:20 starts with 0a:, the prefix of the nodes\' guest-bridge MACs\n  fix: choose another first octet, e.g. macPrefix: "aa:00:20"',
    ],
  },
  {
    name: 'a bridged subnet overlapping another',
    from: '  # Two private',
    to: '  vlan105: { mode: bridged, trunk: bond0, vlan: 105, subnet: 62.217.124.0/25 }\n  # Two private',
    expected: [
      'ganeti-seed.yaml:27:62: error: network vlan105 (62.217.124.0/25) overlaps network vlan104 (62.217.124.0/26)\n  fix: give each guest network its own subnet',
    ],
  },
  {
    name: 'a bridged subnet overlapping the uplink',
    from: '  # Two private',
    to: '  vlan105: { mode: bridged, trunk: bond0, vlan: 105, subnet: 83.212.4.0/24 }\n  # Two private',
    expected: [
      'ganeti-seed.yaml:27:62: error: network vlan105 (83.212.4.0/24) overlaps the uplink subnet (83.212.4.192/27)\n  fix: guest networks and the uplink must not overlap',
    ],
  },
  {
    name: 'both guest forms at once',
    from: '  vm1:\n    node: node1\n',
    to: '  vm1:\n    node: node1\n    address: 62.217.124.10\n',
    expected: [
      'ganeti-seed.yaml:34:5: error: guest vm1 lists its "nics:" and also has "address:", NIC 0\'s in the one-NIC form\n  fix: move "address:" into its first NIC (nics: [{ network: …, address: …, mac: … }]), or remove it',
    ],
  },
  {
    name: 'a NIC without its network',
    from: '- { network: vlan104, mac: "52:54:00:00:01:04"',
    to: '- { mac: "52:54:00:00:01:04"',
    expected: [
      'ganeti-seed.yaml:35:9: error: guest vm1\'s NIC 0 does not say which network it is on\n  fix: add "network:" (one of vlan104, vlan992, private-a, private-b)',
    ],
  },
  {
    name: 'a NIC on an unknown network',
    from: '- { network: vlan104, mac: "52:54:00:00:01:04"',
    to: '- { network: vlan105, mac: "52:54:00:00:01:04"',
    expected: [
      'ganeti-seed.yaml:35:20: error: guest vm1\'s NIC 0 is on unknown network "vlan105"\n  fix: known networks: vlan104, vlan992, private-a, private-b',
    ],
  },
  {
    name: 'a NIC on a bridged network without a MAC',
    from: 'mac: "52:54:00:00:01:04", ',
    to: '',
    expected: [
      'ganeti-seed.yaml:35:9: error: guest vm1\'s NIC 0 is on bridged network vlan104 without a MAC: its port lets through only the MAC it is given\n  fix: add mac: "52:54:00:00:00:01"',
    ],
  },
  {
    name: 'a NIC on a private network without a MAC',
    from: 'mac: "aa:00:10:00:00:01", ',
    to: '',
    expected: [
      'ganeti-seed.yaml:36:9: error: guest vm1\'s NIC 1 is on private network private-a without a MAC: its port lets through only the MAC it is given\n  fix: add mac: "aa:00:10:00:00:01"',
    ],
  },
  {
    name: 'a MAC on two NICs',
    from: 'mac: "52:54:00:00:02:04"',
    to: 'mac: "52:54:00:00:01:04"',
    expected: [
      "ganeti-seed.yaml:40:34: error: MAC 52:54:00:00:01:04 is already the MAC of guest vm1's NIC 0\n  fix: give every NIC its own MAC address",
    ],
  },
  {
    name: 'a multicast MAC',
    from: 'mac: "52:54:00:00:02:04"',
    to: 'mac: "53:54:00:00:02:04"',
    expected: [
      'ganeti-seed.yaml:40:34: error: MAC 53:54:00:00:02:04 is a multicast address\n  fix: a guest MAC has the lowest bit of its first octet clear, e.g. 52:54:00:…',
    ],
  },
  {
    name: "a MAC in the nodes' tag prefix",
    from: 'mac: "52:54:00:00:02:04"',
    to: 'mac: "0a:54:00:00:02:04"',
    expected: [
      'ganeti-seed.yaml:40:34: error: MAC 0a:54:00:00:02:04 starts with 0a:, the prefix of the nodes\' guest-bridge MACs; the pipes would take this guest for a node\n  fix: choose another first octet, or set "tagMacPrefix" to an octet no guest uses',
    ],
  },
  {
    name: "a MAC outside its private network's prefix",
    from: 'mac: "aa:00:10:00:00:02"',
    to: 'mac: "aa:00:20:00:00:02"',
    expected: [
      'ganeti-seed.yaml:41:36: error: MAC aa:00:20:00:00:02 is outside network private-a\'s prefix aa:00:10 (mask ff:ff:f0:00:00:00): the other guests of private-a drop its frames\n  fix: write mac: "aa:00:10:00:00:02"',
    ],
  },
  {
    name: 'an address outside its network',
    from: 'address: 62.217.124.11',
    to: 'address: 62.217.124.64',
    expected: [
      "ganeti-seed.yaml:40:64: error: guest vm2's NIC 0 address 62.217.124.64 is outside network vlan104 (62.217.124.0/26)\n  fix: choose an address inside 62.217.124.0/26",
    ],
  },
  {
    name: 'an address twice on a bridged network',
    from: 'address: 62.217.124.11',
    to: 'address: 62.217.124.10',
    expected: [
      'ganeti-seed.yaml:40:64: error: address 62.217.124.10 is already used by guest vm1\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: "a guest at its bridged network's gateway",
    from: 'address: 62.217.124.11',
    to: 'address: 62.217.124.1',
    expected: [
      'ganeti-seed.yaml:40:64: error: address 62.217.124.1 is already used by the gateway of network vlan104\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'an address twice on one private network',
    from: 'address: 192.168.10.4 }',
    to: 'address: 192.168.10.3 }',
    expected: [
      "ganeti-seed.yaml:51:66: error: address 192.168.10.3 is already used by guest vm3's NIC 1\n  fix: give every node, gateway and guest its own address",
    ],
  },
  {
    name: 'NIC 0 without an address',
    from: 'mac: "52:54:00:00:01:04", address: 62.217.124.10, ',
    to: 'mac: "52:54:00:00:01:04", ',
    expected: [
      'ganeti-seed.yaml:35:9: error: guest vm1\'s NIC 0 has no address; a guest\'s first NIC needs one\n  fix: add "address:" inside 62.217.124.0/26',
    ],
  },
  {
    name: 'NICs on overlapping subnets',
    from: '- { network: vlan992, mac: "52:54:00:00:03:92", address: 10.99.2.10 }',
    to: '- { network: private-a, mac: "aa:00:10:00:00:33", address: 192.168.10.33 }',
    expected: [
      "ganeti-seed.yaml:46:20: error: guest vm3's NICs 0 (network private-a, 192.168.10.0/24) and 1 (network private-b, 192.168.10.0/24) are on overlapping subnets: the guest cannot tell which one reaches an address there\n  fix: put NIC 1 on a network whose subnet does not overlap 192.168.10.0/24",
    ],
  },
  {
    name: 'a link-local address6',
    from: 'address: 192.168.10.4 }',
    to: 'address: 192.168.10.4, address6: "fe80::1" }',
    expected: [
      "ganeti-seed.yaml:51:90: error: fe80::1 is link-local (the NIC's own, from its MAC, passes its port already), not an address of the guest's own\n  fix: write a global or unique-local address, e.g. 2001:db8:104::10",
    ],
  },
  {
    name: 'an address6 twice on one network',
    from: 'address: 62.217.124.11,',
    to: 'address: 62.217.124.11, address6: "2001:db8:104::10",',
    expected: [
      'ganeti-seed.yaml:40:89: error: address 2001:db8:104::10 is already used by guest vm1\n  fix: give every NIC its own address',
    ],
  },
  {
    name: "one node's own bond with an MTU its slaves and networks do not have",
    from: 'node2: { address: 83.212.4.211 }',
    to: 'node2: { address: 83.212.4.211, interfaces: { bond0: { mtu: 1500, bond: { slaves: [eno1, eno2] } } } }',
    expected: [
      "ganeti-seed.yaml:22:63: error: bond bond0's MTU 1500 differs from that of its slaves eno1, eno2 (9000); enslaving sets a slave's MTU to the bond's\n  fix: write mtu: 9000 on bond bond0, or give this node its own eno1, eno2 with mtu: 1500",
      "ganeti-seed.yaml:25:59: error: network vlan104's MTU 9000 is above that of its trunk bond0.104 (1500): its larger frames cannot leave the node (on node node2)\n  fix: write mtu: 9000 on bond0 under nodes.node2.interfaces:, or lower the network's to 1500",
    ],
  },
  {
    name: 'a VLAN on itself',
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  v7: { vlan: { parent: v7, id: 7 } }',
    expected: [
      'ganeti-seed.yaml:18:25: error: VLAN v7 sits on itself\n  fix: name the NIC or bond it sits on: vlan: { parent: bond0, id: 7 }',
    ],
  },
];
