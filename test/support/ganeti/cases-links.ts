// check's problems for mistakes in ganeti-seed, first half: interfaces, bonds, VLANs, the uplink.
import type { Case } from './fixtures.ts';

export const SEED_CASES_LINKS: Case[] = [
  {
    name: "the uplink bridge over the bond's slaves rather than the bond",
    from: 'ports: [bond0]',
    to: 'ports: [eno1, eno2]',
    expected: [
      'ganeti-seed.yaml:12:11: error: eno1, eno2 are slaves of bond bond0, and ports of the uplink bridge br0 too: a link is the slave of one bond or the port of one bridge\n  fix: make the bond the port: ports: [bond0]',
    ],
  },
  {
    name: 'primary not one of the slaves',
    from: 'primary: eno1',
    to: 'primary: eno3',
    expected: [
      "ganeti-seed.yaml:18:83: error: primary eno3 is not one of bond bond0's slaves (eno1, eno2)\n  fix: write primary: eno1",
    ],
  },
  {
    name: 'primary on an 802.3ad bond',
    from: 'mode: active-backup',
    to: 'mode: 802.3ad',
    expected: [
      'ganeti-seed.yaml:18:77: error: primary applies to active-backup bonds; an 802.3ad bond sends on all its slaves at once\n  fix: remove "primary", or write mode: active-backup',
    ],
  },
  {
    name: 'xmitHashPolicy on an active-backup bond',
    from: 'primary: eno1 }',
    to: 'primary: eno1, xmitHashPolicy: layer3+4 }',
    expected: [
      'ganeti-seed.yaml:18:105: error: xmitHashPolicy spreads flows over the slaves of an 802.3ad bond; an active-backup bond sends on one slave\n  fix: remove "xmitHashPolicy", or write mode: 802.3ad',
    ],
  },
  {
    name: "a slave's MTU below the bond's",
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 1500 }',
    expected: [
      "ganeti-seed.yaml:17:16: error: eno2's MTU 1500 is below that of its bond bond0 (9000); enslaving sets a slave's MTU to the bond's\n  fix: write mtu: 9000 on eno2, or leave its MTU out",
    ],
  },
  {
    name: 'a bond without the MTU its slaves have',
    from: '  bond0: { mtu: 9000,',
    to: '  bond0: {',
    expected: [
      "ganeti-seed.yaml:18:3: error: bond bond0 sets no MTU, so it has Ethernet's (1500), and its slaves eno1, eno2 have 9000; enslaving sets a slave's MTU to the bond's\n  fix: write mtu: 9000 on bond bond0",
    ],
  },
  {
    name: 'a VLAN as a slave',
    from: 'slaves: [eno1, eno2]',
    to: 'slaves: [eno1, eno2.7]',
    expected: [
      "ganeti-seed.yaml:18:67: error: eno2.7 is a VLAN: a bond's slaves are NICs\n  fix: list the NIC itself, e.g. eno2",
    ],
  },
  {
    name: 'a NIC in two bonds',
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  eno3: {}\n  bond1: { mtu: 9000, bond: { slaves: [eno2, eno3] } }',
    expected: [
      'ganeti-seed.yaml:20:67: error: eno2 is already a slave of bond bond1: a link is the slave of one bond or the port of one bridge\n  fix: a NIC is the slave of one bond: remove eno2 from bond bond0 or from bond bond1',
    ],
  },
  {
    name: 'a bond its own slave',
    from: 'slaves: [eno1, eno2]',
    to: 'slaves: [eno1, eno2, bond0]',
    expected: [
      'ganeti-seed.yaml:18:73: error: bond bond0 cannot be its own slave\n  fix: list its NICs, e.g. [eno1, eno2]',
    ],
  },
  {
    name: 'a bond and a VLAN at once',
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  bond1: { bond: { slaves: [eno3, eno4] }, vlan: { parent: bond0, id: 7 } }',
    expected: [
      'ganeti-seed.yaml:18:50: error: interface bond1 is both a bond and a VLAN\n  fix: keep one of "bond:" and "vlan:"',
    ],
  },
  {
    name: "a VLAN's MTU above its parent's",
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  bond0.992: { mtu: 9216 }',
    expected: [
      "ganeti-seed.yaml:18:21: error: VLAN bond0.992's MTU 9216 is above that of its parent bond0 (9000), which cannot carry its frames\n  fix: write mtu: 9216 on bond0 under interfaces:, or lower this VLAN's to 9000",
    ],
  },
  {
    name: "a VLAN's name and vlan: disagree",
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  bond0.992: { vlan: { parent: bond0, id: 993 } }',
    expected: [
      'ganeti-seed.yaml:18:22: error: the name bond0.992 says VLAN 992 on bond0, and "vlan:" says VLAN 993 on bond0\n  fix: rename it bond0.993, or remove "vlan:" (the name says it)',
    ],
  },
  {
    name: 'a VLAN on an interface the node lacks',
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  eth9.7: {}',
    expected: [
      'ganeti-seed.yaml:18:3: error: VLAN eth9.7 sits on eth9, which is no interface the node has\n  fix: declare eth9 under interfaces: (a NIC: eth9: {}), or put the VLAN on one that is',
    ],
  },
  {
    name: "a VLAN on a bond's slave",
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  eno1.104: {}',
    expected: [
      'ganeti-seed.yaml:18:3: error: VLAN eno1.104 sits on eno1, a slave of bond bond0; tagged frames on a slave bypass the bond\n  fix: put the VLAN on the bond: bond0.104',
    ],
  },
  {
    name: 'a VLAN named with id 0',
    from: 'eno2: { mtu: 9000 }',
    to: 'eno2: { mtu: 9000 }\n  bond0.0: {}',
    expected: [
      'ganeti-seed.yaml:18:3: error: bond0.0 names VLAN 0 of bond0; VLAN ids run from 1 to 4094\n  fix: rename it, e.g. to bond0.100',
    ],
  },
  {
    name: "one node's own NIC with a smaller MTU than the bond",
    from: 'node2: { address: 83.212.4.211 }',
    to: 'node2: { address: 83.212.4.211, interfaces: { eno2: { mtu: 1500 } } }',
    expected: [
      "ganeti-seed.yaml:22:62: error: eno2's MTU 1500 is below that of its bond bond0 (9000); enslaving sets a slave's MTU to the bond's\n  fix: write mtu: 9000 on eno2, or leave its MTU out",
    ],
  },
  {
    name: "one node's uplink over two NICs",
    from: 'node2: { address: 83.212.4.211 }',
    to: 'node2: { address: 83.212.4.211, interfaces: { eno3: {}, eno4: {} }, uplink: { bridge: br0, ports: [eno3, eno4] } }',
    expected: [
      'ganeti-seed.yaml:22:101: error: the uplink bridge br0 has 2 physical NICs as ports (eno3, eno4): side by side on one switch they form a loop; do not bridge the physical interfaces, bond them\n  fix: under interfaces: bond1: { bond: { slaves: [eno3, eno4] } }, and ports: [bond1]',
    ],
  },
  {
    name: 'a bridged network without a trunk',
    from: 'vlan992: { mode: bridged, trunk: bond0, vlan: 992,',
    to: 'vlan992: { mode: bridged,',
    expected: [
      'ganeti-seed.yaml:26:12: error: bridged network vlan992 does not say how its bridge reaches the other nodes and the upstream router\n  fix: add its trunk (the NIC or bond carrying it) and VLAN: trunk: bond0, vlan: 100',
    ],
  },
  {
    name: 'a bridged network with node addresses and pipes',
    from: 'vlan992: { mode: bridged,',
    to: 'vlan992: { mode: bridged, nodes: { node1: 10.99.2.5 }, pipes: [{ node1: eth1.5, node2: eth1.5 }],',
    expected: [
      'ganeti-seed.yaml:26:36: error: network vlan992 is bridged: the nodes have no address on it and reach each other over its trunk\n  fix: remove "nodes:"',
      'ganeti-seed.yaml:26:65: error: network vlan992 is bridged: the nodes have no address on it and reach each other over its trunk\n  fix: remove "pipes:", and carry it on a "trunk:"',
    ],
  },
  {
    name: 'a bridged gateway outside the subnet',
    from: 'gateway: 10.99.2.1 }',
    to: 'gateway: 10.99.3.1 }',
    expected: [
      'ganeti-seed.yaml:26:96: error: the gateway 10.99.3.1 is outside network vlan992 (10.99.2.0/24)\n  fix: choose an address inside 10.99.2.0/24',
    ],
  },
  {
    name: 'a private network with neither prefix nor pool',
    from: 'macPrefix: "aa:00:20", subnet',
    to: 'subnet',
    expected: [
      'ganeti-seed.yaml:29:14: error: private network private-b says neither its MAC prefix (guests on a shared bridge) nor its pool (a VLAN of its own)\n  fix: add macPrefix: "aa:00:20" (any locally administered prefix no other network has)',
    ],
  },
  {
    name: 'a private network without a trunk',
    from: 'private-b: { mode: private, trunk: bond0, vlan: 990,',
    to: 'private-b: { mode: private,',
    expected: [
      'ganeti-seed.yaml:29:14: error: private network private-b has no trunk: its guests on different nodes cannot reach each other\n  fix: add its trunk and VLAN, e.g. trunk: bond0, vlan: 990',
    ],
  },
  {
    name: 'a trunk the nodes lack',
    from: 'vlan992: { mode: bridged, trunk: bond0',
    to: 'vlan992: { mode: bridged, trunk: bond1',
    expected: [
      'ganeti-seed.yaml:26:36: error: trunk bond1 is no interface the nodes have\n  fix: declare it under interfaces: (a NIC: bond1: {}, or a bond: bond1: { bond: { slaves: [eno1, eno2] } }), or name one that is',
    ],
  },
  {
    name: "a trunk that is a bond's slave",
    from: 'vlan992: { mode: bridged, trunk: bond0',
    to: 'vlan992: { mode: bridged, trunk: eno2',
    expected: [
      'ganeti-seed.yaml:26:36: error: trunk eno2 is a slave of bond bond0, which takes its frames\n  fix: carry the network on the bond: trunk: bond0',
    ],
  },
  {
    name: "a network's MTU above its trunk's",
    from: 'mtu: 1500, subnet',
    to: 'mtu: 9216, subnet',
    expected: [
      "ganeti-seed.yaml:26:59: error: network vlan992's MTU 9216 is above that of its trunk bond0.992 (9000): its larger frames cannot leave the node\n  fix: write mtu: 9216 on bond0 under interfaces:, or lower the network's to 9000",
    ],
  },
  {
    name: 'two networks on one VLAN',
    from: 'vlan: 104, mtu: 9000',
    to: 'vlan: 992, mtu: 9000',
    expected: [
      'ganeti-seed.yaml:26:49: error: network vlan992 is carried on bond0.992, as network vlan104 is: one VLAN on one trunk is one network\n  fix: give network vlan992 a VLAN of its own on bond0',
    ],
  },
];
