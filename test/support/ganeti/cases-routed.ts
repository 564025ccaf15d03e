// check's problems for mistakes in routed networks (issue 16), each made in ROUTED (routed.ts).
import type { RoutedCase } from './routed.ts';

export const ROUTED_CASES: RoutedCase[] = [
  {
    name: 'a routed network without a trunk',
    edits: [['    trunk: eth1\n    subnet: 192.0.2.0/24', '    subnet: 192.0.2.0/24']],
    expected: [
      'cluster.yaml:22:5: error: routed network public does not say which link carries it to the other nodes and its gateway\n  fix: add its trunk (the NIC or bond carrying it) and VLAN: trunk: bond0, vlan: 100',
    ],
  },
  {
    name: 'a trunk the nodes lack',
    edits: [['    trunk: eth1\n', '    trunk: eth9\n']],
    expected: [
      'cluster.yaml:23:12: error: trunk eth9 is no interface the nodes have\n  fix: declare it under interfaces: (a NIC: eth9: {}, or a bond: eth9: { bond: { slaves: [eno1, eno2] } }), or name one that is',
    ],
  },
  {
    name: "a trunk that is a bond's slave",
    edits: [['trunk: bond0, vlan: 993', 'trunk: eno1, vlan: 993']],
    expected: [
      'cluster.yaml:29:34: error: trunk eno1 is a slave of bond bond0, which takes its frames\n  fix: carry the network on the bond: trunk: bond0',
    ],
  },
  {
    name: "the uplink's port as an untagged trunk",
    edits: [['    trunk: eth1\n', '    trunk: eth0\n']],
    expected: [
      'cluster.yaml:23:12: error: eth0 is already a port of the uplink bridge br0: a link is the slave of one bond, the port of one bridge or the uplink of one routed network\n  fix: tag network public with a VLAN of its own (vlan: N), so that it routes over eth0.N',
    ],
  },
  {
    name: "a bridged network's VLAN as the uplink",
    edits: [['trunk: bond0, vlan: 993', 'trunk: bond0, vlan: 104']],
    expected: [
      'cluster.yaml:29:47: error: bond0.104 is already the port of bridge vlan104 (network vlan104): a link is the slave of one bond, the port of one bridge or the uplink of one routed network\n  fix: give network tagged a VLAN of its own',
    ],
  },
  {
    name: 'two routed networks on one uplink device',
    edits: [['internal: { mode: routed, trunk: eth2', 'internal: { mode: routed, trunk: eth1']],
    expected: [
      'cluster.yaml:30:36: error: network internal is carried on eth1, as routed network public is: the nodes route what arrives on a device into one network\'s table (one "iif" rule each)\n  fix: give network internal a VLAN of its own on eth1',
    ],
  },
  {
    name: "an MTU above the trunk's",
    edits: [['    table: 500\n', '    table: 500\n    mtu: 9000\n']],
    expected: [
      "cluster.yaml:27:10: error: network public's MTU 9000 is above that of its trunk eth1 (1500): its larger frames cannot leave the node\n  fix: write mtu: 9000 on eth1 under interfaces:, or lower the network's to 1500",
    ],
  },
  {
    name: 'a routed subnet of four addresses',
    edits: [
      ['subnet: 10.50.0.0/24', 'subnet: 10.50.0.0/30'],
      ['10.50.0.1, router', '10.50.0.1, arpAddress: 10.50.0.2, router'],
      ['address: 10.50.0.10 }', 'address: 10.50.0.2 }'],
    ],
    expected: [
      'cluster.yaml:30:50: error: routed subnet 10.50.0.0/30 has no room for a gateway, an ARP address and guests\n  fix: write a /29 or a larger subnet',
    ],
  },
  {
    name: 'no gateway',
    edits: [['    gateway: 192.0.2.1\n', '']],
    expected: [
      'cluster.yaml:22:5: error: routed network public has no gateway, its guests\' default router (upstream, or the router node\'s address)\n  fix: add "gateway:", an address inside 192.0.2.0/24',
    ],
  },
  {
    name: 'a gateway outside the subnet',
    edits: [['    gateway: 192.0.2.1\n', '    gateway: 192.0.3.1\n']],
    expected: [
      'cluster.yaml:25:14: error: the gateway 192.0.3.1 is outside network public (192.0.2.0/24)\n  fix: choose an address inside 192.0.2.0/24',
    ],
  },
  {
    name: 'the broadcast address as the gateway',
    edits: [['    gateway: 192.0.2.1\n', '    gateway: 192.0.2.255\n']],
    expected: [
      'cluster.yaml:25:14: error: the gateway 192.0.2.255 is the network or broadcast address of 192.0.2.0/24\n  fix: choose a host address inside 192.0.2.0/24',
    ],
  },
  {
    name: 'an ARP address outside the subnet',
    edits: [['arpAddress: 62.217.124.54', 'arpAddress: 62.217.124.58']],
    expected: [
      'cluster.yaml:29:114: error: the ARP address 62.217.124.58 is outside network tagged (62.217.124.48/29)\n  fix: choose an address inside 62.217.124.48/29',
    ],
  },
  {
    name: 'the gateway as the ARP address',
    edits: [['arpAddress: 62.217.124.54', 'arpAddress: 62.217.124.49']],
    expected: [
      "cluster.yaml:29:114: error: the ARP address 62.217.124.49 is network tagged's gateway: the nodes would claim the router's address\n  fix: write arpAddress: 62.217.124.54, an address no one has",
    ],
  },
  {
    name: "the gateway on the subnet's last host, the default ARP address",
    edits: [['gateway: 10.50.0.1, router', 'gateway: 10.50.0.254, router']],
    expected: [
      'cluster.yaml:30:13: error: network internal\'s ARP address is its subnet\'s last host 10.50.0.254 when "arpAddress:" is left out, and that is its gateway\n  fix: write arpAddress: 10.50.0.253, an address no one has',
    ],
  },
  {
    name: 'a guest on the ARP address',
    edits: [['address: 62.217.124.53', 'address: 62.217.124.54']],
    expected: [
      'cluster.yaml:43:37: error: address 62.217.124.54 is already used by the ARP address of network tagged\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: "a guest on the default ARP address (the subnet's last host)",
    edits: [['address: 10.50.0.10 }', 'address: 10.50.0.254 }']],
    expected: [
      'cluster.yaml:38:39: error: address 10.50.0.254 is already used by the ARP address of network internal (its last host: "arpAddress:" is left out)\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'a guest on the gateway',
    edits: [['address: 192.0.2.10,', 'address: 192.0.2.1,']],
    expected: [
      'cluster.yaml:37:63: error: address 192.0.2.1 is already used by the gateway of network public\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'a guest address outside the subnet',
    edits: [['address: 192.0.2.10,', 'address: 192.0.3.10,']],
    expected: [
      "cluster.yaml:37:63: error: guest vm1's NIC 0 address 192.0.3.10 is outside network public (192.0.2.0/24)\n  fix: choose an address inside 192.0.2.0/24",
    ],
  },
  {
    name: 'two guests on one address',
    edits: [['address: 192.0.2.11 }', 'address: 192.0.2.10 }']],
    expected: [
      'cluster.yaml:42:63: error: address 192.0.2.10 is already used by guest vm1\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'a table pinned twice',
    edits: [['vlan: 993, subnet', 'vlan: 993, table: 500, subnet']],
    expected: ["cluster.yaml:29:59: error: table 500 is already network public's\n  fix: write table: 101"],
  },
  {
    name: "a VLAN whose number is another network's table",
    edits: [['vlan: 993', 'vlan: 500']],
    expected: [
      'cluster.yaml:29:47: error: network tagged\'s routing table is its VLAN, 500, when "table:" is left out, and table 500 is already network public\'s\n  fix: write table: 101',
    ],
  },
  {
    name: 'table 254 (main)',
    edits: [['    table: 500\n', '    table: 254\n']],
    expected: ["cluster.yaml:26:12: error: table 254 is iproute2's main table\n  fix: write table: 101"],
  },
  {
    name: 'VLAN 255, which would be table local',
    edits: [['vlan: 993', 'vlan: 255']],
    expected: [
      'cluster.yaml:29:47: error: network tagged\'s routing table is its VLAN, 255, when "table:" is left out, and table 255 is iproute2\'s local table\n  fix: write table: 101',
    ],
  },
  {
    name: 'a network named main',
    edits: [
      ['  internal: {', '  main: {'],
      ['network: internal,', 'network: main,'],
    ],
    expected: [
      'cluster.yaml:30:3: error: network main names its routing table, and "main" is iproute2\'s own table 254 in rt_tables\n  fix: rename the network, e.g. main-net',
    ],
  },
  {
    name: 'a network named default',
    edits: [
      ['  tagged: {', '  default: {'],
      ['network: tagged,', 'network: default,'],
    ],
    expected: [
      'cluster.yaml:29:3: error: network default names its routing table, and "default" is iproute2\'s own table 253 in rt_tables\n  fix: rename the network, e.g. default-net',
    ],
  },
  {
    name: 'subnet6 a /48',
    edits: [['subnet6: 2001:db8::/64', 'subnet6: 2001:db8::/48']],
    expected: [
      'cluster.yaml:27:14: error: subnet6 2001:db8::/48 is a /48: the guests configure their addresses by SLAAC, which takes a /64\n  fix: write a /64, e.g. subnet6: 2001:db8::/64',
    ],
  },
  {
    name: 'subnet6 without gateway6',
    edits: [['    gateway6: 2001:db8::1\n', '']],
    expected: [
      "cluster.yaml:27:14: error: network public has subnet6 and no gateway6, its guests' IPv6 default router\n  fix: add gateway6: an address inside 2001:db8::/64",
    ],
  },
  {
    name: 'gateway6 without subnet6',
    edits: [['gateway: 10.50.0.1, router', 'gateway: 10.50.0.1, gateway6: 2001:db8:1::1, router']],
    expected: [
      'cluster.yaml:30:84: error: gateway6 routes the guests\' subnet6, and network internal has none\n  fix: add "subnet6:" (a /64), or remove "gateway6:"',
    ],
  },
  {
    name: 'gateway6 outside subnet6',
    edits: [['gateway6: 2001:db8::1', 'gateway6: 2001:db8:1::1']],
    expected: [
      'cluster.yaml:28:15: error: gateway6 2001:db8:1::1 is outside subnet6 (2001:db8::/64)\n  fix: choose an address inside 2001:db8::/64',
    ],
  },
  {
    name: 'address6 outside subnet6',
    edits: [['address6: "2001:db8::10"', 'address6: "2001:db8:1::10"']],
    expected: [
      'cluster.yaml:37:85: error: address6 2001:db8:1::10 is outside network public\'s subnet6 (2001:db8::/64)\n  fix: choose an address inside 2001:db8::/64, or leave "address6:" out for the EUI-64 of the MAC',
    ],
  },
  {
    name: 'address6 on a routed network without subnet6',
    edits: [
      [
        'network: tagged, address: 62.217.124.53',
        'network: tagged, address: 62.217.124.53, address6: "2001:db8:5::53"',
      ],
    ],
    expected: [
      'cluster.yaml:43:62: error: network tagged has no subnet6: nothing routes 2001:db8:5::53 to guest vm2\'s NIC 1\n  fix: add subnet6 (a /64) and gateway6 to network tagged, or remove "address6:"',
    ],
  },
  {
    name: 'address6 the gateway6',
    edits: [['address6: "2001:db8::10"', 'address6: "2001:db8::1"']],
    expected: [
      "cluster.yaml:37:85: error: address6 2001:db8::1 is network public's gateway6\n  fix: give the NIC its own address6",
    ],
  },
  {
    name: 'an IPv6 address another NIC has as the EUI-64 of its MAC',
    edits: [['address6: "2001:db8::10"', 'address6: "2001:db8::5054:ff:fe00:201"']],
    expected: [
      "cluster.yaml:42:33: error: guest vm2's NIC 0's IPv6 address 2001:db8::5054:ff:fe00:201, the EUI-64 of its MAC, is already used by guest vm1\n  fix: give the NIC another MAC, or an address6 of its own",
    ],
  },
  {
    name: 'a NIC with neither address6 nor MAC on a network with subnet6',
    edits: [['{ network: public, mac: "52:54:00:00:02:01", address', '{ network: public, address']],
    expected: [
      'cluster.yaml:42:9: error: guest vm2\'s NIC 0 is on network public, which has subnet6, with neither address6 nor a MAC: its IPv6 address is the EUI-64 of its MAC\n  fix: add mac: "52:54:00:00:00:01", or address6: an address inside 2001:db8::/64',
    ],
  },
  {
    name: 'subnet6 of two routed networks overlapping',
    edits: [
      [
        'gateway: 10.50.0.1, router',
        'gateway: 10.50.0.1, subnet6: 2001:db8::/64, gateway6: 2001:db8::2, router',
      ],
      ['{ network: internal, address', '{ network: internal, mac: "52:54:00:00:01:02", address'],
    ],
    expected: [
      "cluster.yaml:30:93: error: network internal's subnet6 (2001:db8::/64) overlaps network public's (2001:db8::/64)\n  fix: give each routed network its own /64",
    ],
  },
  {
    name: 'a router that is no node',
    edits: [['router: node1', 'router: node3']],
    expected: [
      'cluster.yaml:30:92: error: network internal\'s router is unknown node "node3"\n  fix: known nodes: node1, node2',
    ],
  },
  {
    name: "a guest MAC that is the taps' MAC",
    edits: [['{ network: public, mac: "52:54:00:00:02:01"', '{ network: public, mac: "cc:47:52:4e:45:54"']],
    expected: [
      'cluster.yaml:42:33: error: MAC cc:47:52:4e:45:54 is the MAC of network public\'s taps, the neighbour the guest sends everything to\n  fix: write mac: "52:54:00:00:00:01"',
    ],
  },
  {
    name: 'a multicast tapMac',
    edits: [['    table: 500\n', '    table: 500\n    tapMac: "01:00:5e:00:00:01"\n']],
    expected: [
      'cluster.yaml:27:13: error: tapMac 01:00:5e:00:00:01 is a multicast address: the guests would not take it for their router\'s\n  fix: write a unicast MAC (the lowest bit of the first octet clear), or leave "tapMac:" out for cc:47:52:4e:45:54',
    ],
  },
  {
    name: 'a routed subnet over a bridged one',
    edits: [
      ['subnet: 62.217.124.48/29', 'subnet: 62.217.124.16/29'],
      [
        'gateway: 62.217.124.49, arpAddress: 62.217.124.54',
        'gateway: 62.217.124.17, arpAddress: 62.217.124.22',
      ],
      ['address: 62.217.124.53', 'address: 62.217.124.21'],
    ],
    expected: [
      'cluster.yaml:31:62: error: network vlan104 (62.217.124.0/27) overlaps network tagged (62.217.124.16/29)\n  fix: give each guest network its own subnet',
    ],
  },
  {
    name: 'a routed subnet over the uplink',
    edits: [
      ['subnet: 10.50.0.0/24, gateway: 10.50.0.1', 'subnet: 192.168.122.0/25, gateway: 192.168.122.100'],
      ['address: 10.50.0.10 }', 'address: 192.168.122.101 }'],
    ],
    expected: [
      'cluster.yaml:30:50: error: network internal (192.168.122.0/25) overlaps the uplink subnet (192.168.122.0/24)\n  fix: guest networks and the uplink must not overlap',
    ],
  },
  {
    name: 'two routed subnets overlapping',
    edits: [
      ['subnet: 10.50.0.0/24, gateway: 10.50.0.1', 'subnet: 192.0.2.128/25, gateway: 192.0.2.129'],
      ['address: 10.50.0.10 }', 'address: 192.0.2.130 }'],
    ],
    expected: [
      'cluster.yaml:30:50: error: network internal (192.0.2.128/25) overlaps network public (192.0.2.0/24)\n  fix: give each guest network its own subnet',
      "cluster.yaml:38:20: error: guest vm1's NICs 0 (network public, 192.0.2.0/24) and 1 (network internal, 192.0.2.128/25) are on overlapping subnets: the guest cannot tell which one reaches an address there\n  fix: put NIC 1 on a network whose subnet does not overlap 192.0.2.0/24",
    ],
  },
];
