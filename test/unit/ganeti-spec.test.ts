// The Ganeti host networking spec (seed 003, issue 15) as `convergent check` sees it: both examples
// check clean; every mistake in node interfaces, bridged and private networks, VLAN pools and guest
// NICs is one problem located at file:line:col with a fix; and the resolved model (bridges, their
// ports, pool slots, NICs) is what the host files and the lab are built from.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { clusterFromText, problemsOf } from '../support/spec.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-ganeti-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `fixture text not found: ${from}`);
  return text.replace(from, to);
}

const SEED = readFileSync(join(EXAMPLES_DIR, 'ganeti-seed.yaml'), 'utf8');
const PROXMOX = readFileSync(join(EXAMPLES_DIR, 'proxmox-vlan.yaml'), 'utf8');
/** The seed with an IPv6 address on vm1's first NIC. */
const SEED6 = edit(
  SEED,
  'address: 62.217.124.10, firewall',
  'address: 62.217.124.10, address6: "2001:db8:104::10", firewall',
);
/** The seed with a pool of three VLANs on bond0 and two private networks from it. */
const POOLED = edit(
  edit(SEED, 'nodes:\n  node1', 'vlanPools:\n  prv: { trunk: bond0, base: 400, size: 3 }\n\nnodes:\n  node1'),
  '\nguests:',
  '  tenant1: { mode: private, pool: prv, subnet: 10.0.1.0/24 }\n' +
    '  tenant2: { mode: private, pool: prv, subnet: 10.0.1.0/24 }\n\nguests:',
);
/** A gateway cluster (part 4) with a bridged VLAN beside its gateway network and a guest on it. */
const MIXED = [
  ['  ports: [eth0]\n', '  ports: [eth0]\n\ninterfaces:\n  eth2: {}\n'],
  [
    '\nguests:',
    '  vlan200: { mode: bridged, trunk: eth2, vlan: 200, subnet: 172.20.0.0/24, gateway: 172.20.0.1 }\n\nguests:',
  ],
  [
    '  guest1: { node: node1,',
    '  web: { node: node1, nics: [{ network: vlan200, mac: "52:54:00:20:00:10", address: 172.20.0.10 }] }\n' +
      '  guest1: { node: node1, network: guestnet,',
  ],
  ['  guest2: { node: node2,', '  guest2: { node: node2, network: guestnet,'],
].reduce(
  (text, [from, to]) => edit(text, from as string, to as string),
  readFileSync(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'utf8'),
);

/** The seed's uplink bridge over its two NICs, without the bond (the networks on eno1). */
const BRIDGED_NICS = edit(
  edit(
    SEED,
    '  bond0: { mtu: 9000, bond: { mode: active-backup, slaves: [eno1, eno2], primary: eno1 } }\n',
    '',
  ),
  'ports: [bond0]',
  'ports: [eno1, eno2]',
).replaceAll('trunk: bond0', 'trunk: eno1');

interface Case {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly expected: readonly string[];
}

const SEED_CASES: Case[] = [
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

const POOL_CASES: Case[] = [
  {
    name: 'a pool beyond VLAN 4094',
    from: 'base: 400, size: 3',
    to: 'base: 4093, size: 3',
    expected: [
      'ganeti-seed.yaml:21:42: error: pool prv runs from VLAN 4094 to 4096; VLAN ids end at 4094\n  fix: write size: 1, or a lower base',
    ],
  },
  {
    name: 'a pool on a trunk the nodes lack',
    from: 'prv: { trunk: bond0',
    to: 'prv: { trunk: bond9',
    expected: [
      'ganeti-seed.yaml:21:17: error: trunk bond9 is no interface the nodes have\n  fix: declare it under interfaces: (a NIC: bond9: {}, or a bond: bond9: { bond: { slaves: [eno1, eno2] } }), or name one that is',
    ],
  },
  {
    name: 'a slot beyond the pool',
    from: 'tenant2: { mode: private, pool: prv,',
    to: 'tenant2: { mode: private, pool: prv, slot: 4,',
    expected: [
      "ganeti-seed.yaml:34:46: error: slot 4 is beyond pool prv's size (3)\n  fix: pin a slot from 1 to 3, or write size: 4 on the pool",
    ],
  },
  {
    name: 'a slot pinned twice',
    from: 'tenant1: { mode: private, pool: prv, subnet: 10.0.1.0/24 }\n  tenant2: { mode: private, pool: prv,',
    to: 'tenant1: { mode: private, pool: prv, slot: 2, subnet: 10.0.1.0/24 }\n  tenant2: { mode: private, pool: prv, slot: 2,',
    expected: [
      'ganeti-seed.yaml:34:46: error: slot 2 of pool prv is already network tenant1\'s\n  fix: leave "slot:" out to have a free one allocated, or pin another',
    ],
  },
  {
    name: 'a pool with no slot left',
    from: 'size: 3',
    to: 'size: 1',
    expected: [
      'ganeti-seed.yaml:34:35: error: pool prv has 1 slot, all taken: none is left for network tenant2\n  fix: enlarge the pool: size: 2',
    ],
  },
  {
    name: 'a slot without a pool',
    from: 'tenant1: { mode: private, pool: prv,',
    to: 'tenant1: { mode: private, trunk: bond0, vlan: 990, macPrefix: "aa:00:30", slot: 1,',
    expected: [
      'ganeti-seed.yaml:33:83: error: slot pins a network to a slot of its pool, and network tenant1 has no pool\n  fix: remove "slot:", or add "pool:"',
    ],
  },
  {
    name: 'an unknown pool',
    from: 'tenant1: { mode: private, pool: prv,',
    to: 'tenant1: { mode: private, pool: prw,',
    expected: [
      'ganeti-seed.yaml:33:35: error: network tenant1 takes its VLAN from unknown pool "prw"\n  fix: known pools: prv',
    ],
  },
  {
    name: 'a pool network with its own trunk',
    from: 'tenant1: { mode: private, pool: prv,',
    to: 'tenant1: { mode: private, pool: prv, trunk: bond0,',
    expected: [
      'ganeti-seed.yaml:33:47: error: network tenant1 takes its trunk and VLAN from pool prv\n  fix: remove "trunk:"',
    ],
  },
  {
    name: 'a pool network with a MAC prefix too',
    from: 'tenant1: { mode: private, pool: prv,',
    to: 'tenant1: { mode: private, pool: prv, macPrefix: "aa:00:30",',
    expected: [
      'ganeti-seed.yaml:33:35: error: private network tenant1 is kept apart either by its MAC prefix on a shared bridge or by a VLAN of its own from a pool, not both\n  fix: remove "pool:" or "macPrefix:"',
    ],
  },
  {
    name: "a network's VLAN inside a pool's range",
    from: 'vlan: 104, mtu: 9000',
    to: 'vlan: 402, mtu: 9000',
    expected: [
      'ganeti-seed.yaml:28:49: error: VLAN 402 on bond0 belongs to pool prv (VLANs 401-403), which hands it to its network 2\n  fix: give network vlan104 a VLAN outside the pool, or take it from the pool: pool: prv',
    ],
  },
  {
    name: 'two pools sharing VLANs and bridge names',
    from: '  prv: { trunk: bond0, base: 400, size: 3 }',
    to: '  prv: { trunk: bond0, base: 400, size: 3 }\n  prw: { trunk: bond0, base: 402, size: 3, bridgePrefix: prv }',
    expected: [
      'ganeti-seed.yaml:22:30: error: pools prv and prw share VLAN 403 on trunk bond0\n  fix: start pool prw after pool prv: base: 403',
      'ganeti-seed.yaml:22:58: error: pool prv already names its bridges prv1, prv2, …\n  fix: give pool prw a bridgePrefix of its own, e.g. bridgePrefix: prvb',
    ],
  },
  {
    name: "a pool network's MTU above its trunk's",
    from: 'tenant1: { mode: private, pool: prv, subnet: 10.0.1.0/24 }',
    to: 'tenant1: { mode: private, pool: prv, subnet: 10.0.1.0/24, mtu: 9216 }',
    expected: [
      "ganeti-seed.yaml:33:66: error: network tenant1's MTU 9216 is above that of its trunk bond0.401 (9000): its larger frames cannot leave the node\n  fix: write mtu: 9216 on bond0 under interfaces:, or lower the network's to 9000",
    ],
  },
];

const GATEWAY_CASES: Case[] = [
  {
    name: 'a forward to a guest on a bridged network',
    from: 'forwards:\n',
    to: 'forwards:\n  - { port: 8443, to: web }\n',
    expected: [
      "cluster.yaml:40:23: error: forward to guest web, whose first NIC is on bridged network vlan200: the nodes forward only to guests on gateway networks\n  fix: lead it to a guest on a gateway network (such as guestnet), or remove it: network vlan200's upstream router reaches web from outside",
    ],
  },
  {
    name: 'a proxy to a guest on a bridged network',
    from: '\nchecks:',
    to: '\nproxies: [{ port: 8080, to: web }]\nchecks:',
    expected: [
      "cluster.yaml:51:29: error: proxy to guest web, whose first NIC is on bridged network vlan200: the nodes proxy only to guests on gateway networks\n  fix: lead it to a guest on a gateway network (such as guestnet), or remove it: network vlan200's upstream router reaches web from outside",
    ],
  },
  {
    name: '"gateway" from a guest on a bridged network',
    from: '\nchecks:',
    to: '\nchecks:\n  - { from: web, to: gateway, proto: ping }',
    expected: [
      "cluster.yaml:52:22: error: \"gateway\" is the nodes' anycast gateway of a guest's gateway network, and guest web's first NIC is on bridged network vlan200\n  fix: ping its upstream router by address: to: 172.20.0.1",
    ],
  },
  {
    name: 'conntrackd over a bridged network',
    from: 'strategy: stateless',
    to: 'strategy: ctsync\nsync: { network: vlan200 }',
    expected: [
      "cluster.yaml:8:18: error: conntrackd syncs over a gateway network's pipes; network vlan200 is bridged\n  fix: name a gateway network: network: guestnet",
    ],
  },
  {
    name: "a bridged network on a gateway network's bridge",
    from: 'vlan200: { mode: bridged,',
    to: 'vlan200: { mode: bridged, bridge: guestbr0,',
    expected: [
      'cluster.yaml:32:37: error: bridge guestbr0 is already the bridge of gateway network guestnet\n  fix: name a bridge of its own: bridge: vlan200',
    ],
  },
  {
    name: "a pipe on a bridged network's VLAN",
    from: '      - { node1: eth1.100, node2: eth1.100 }',
    to: '      - { node1: eth2.200, node2: eth1.100 }',
    expected: [
      'cluster.yaml:31:18: error: eth2.200 is already the port of bridge vlan200 (network vlan200): a link is the slave of one bond or the port of one bridge\n  fix: give the pipe its own interface',
    ],
  },
];

/** Each expected problem is located, says what is wrong and has a fix; none is a stack trace. */
function assertShape(problems: readonly string[]): void {
  for (const p of problems) {
    assert.match(p, /^\S+\.yaml:\d+:\d+: error: \S.*\n {2}fix: \S.*$/, p);
    assert.doesNotMatch(p, /\n\s+at |Error:|undefined|NaN|\[object/, p);
  }
}

describe('the ganeti examples', () => {
  test('ganeti-seed and proxmox-vlan check clean', () => {
    assert.deepEqual(problemsOf(SEED, 'ganeti-seed.yaml'), []);
    assert.deepEqual(problemsOf(PROXMOX, 'proxmox-vlan.yaml'), []);
  });

  test('check counts their networks by mode and their NICs', () => {
    const seed = convergent('check', join(EXAMPLES_DIR, 'ganeti-seed.yaml'));
    assert.equal(seed.code, 0, seed.stderr);
    assert.match(
      seed.stdout,
      /ok: cluster ganeti, 2 nodes, 4 networks \(2 bridged, 2 private\), 4 guests \(8 NICs\), 0 forwards\n/,
    );
    const proxmox = convergent('check', join(EXAMPLES_DIR, 'proxmox-vlan.yaml'));
    assert.equal(proxmox.code, 0, proxmox.stderr);
    assert.match(
      proxmox.stdout,
      /ok: cluster proxmox, 2 nodes, 1 network \(bridged\), 3 guests \(3 NICs\), 0 forwards\n/,
    );
  });
});

describe('check refuses the two NICs bridged instead of bonded (seed 003: "Do not bridge the physical interfaces")', () => {
  test('one located error whose fix is the bond, exit 1, no stack trace', () => {
    const file = join(tmp, 'bridged-nics.yaml');
    writeFileSync(file, BRIDGED_NICS);
    const r = convergent('check', file);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      r.stderr,
      `${file}:12:10: error: the uplink bridge br0 has 2 physical NICs as ports (eno1, eno2): side by side on one switch they form a loop; do not bridge the physical interfaces, bond them\n` +
        '  fix: under interfaces: bond0: { bond: { slaves: [eno1, eno2] } }, and ports: [bond0]\n' +
        '1 problem found.\n',
    );
    assert.equal(r.stdout, '');
  });

  test('the same NICs bonded as the fix says, the bond the port and the trunk, check clean', () => {
    const bonded = edit(
      edit(
        BRIDGED_NICS,
        '  eno2: { mtu: 9000 }\n',
        '  eno2: { mtu: 9000 }\n  bond0: { mtu: 9000, bond: { slaves: [eno1, eno2] } }\n',
      ),
      'ports: [eno1, eno2]',
      'ports: [bond0]',
    ).replaceAll('trunk: eno1', 'trunk: bond0');
    assert.deepEqual(problemsOf(bonded), []);
  });
});

for (const [title, base, cases, file] of [
  ['node interfaces, bridged and private networks, guest NICs', SEED6, SEED_CASES, 'ganeti-seed.yaml'],
  ['VLAN pools', POOLED, POOL_CASES, 'ganeti-seed.yaml'],
  [
    'what only a gateway network has: forwards, proxies, sync, "gateway"',
    MIXED,
    GATEWAY_CASES,
    'cluster.yaml',
  ],
] as const) {
  describe(`check: ${title}: each mistake one located problem with a fix`, () => {
    test('the base spec is valid', () => {
      assert.deepEqual(problemsOf(base, file), []);
    });
    for (const c of cases)
      test(c.name, () => {
        assertShape(c.expected);
        assert.deepEqual(problemsOf(edit(base, c.from, c.to), file), c.expected);
      });
  });
}

describe('private networks are address spaces of their own', () => {
  test('one address on private-a and on private-b, which share a subnet and a bridge: no clash', () => {
    assert.deepEqual(problemsOf(edit(SEED, 'address: 192.168.10.4 }', 'address: 192.168.10.1 }')), []);
  });

  test('a private network may overlap a bridged one or the uplink; a guest on both may not', () => {
    const overlapping = edit(
      SEED,
      'macPrefix: "aa:00:20", subnet: 192.168.10.0/24',
      'macPrefix: "aa:00:20", subnet: 62.217.124.0/24',
    );
    const problems = problemsOf(overlapping, 'ganeti-seed.yaml');
    assert.ok(
      problems.length > 0 && problems.every((p) => /overlapping subnets|outside network private-b/.test(p)),
      problems.join('\n'),
    );
    // Without guests on both, a private subnet over a bridged one or the uplink is no problem:
    // nothing routes it.
    const guestless = (text: string) => text.slice(0, text.indexOf('\nguests:'));
    assert.deepEqual(problemsOf(guestless(overlapping), 'ganeti-seed.yaml'), []);
    const overUplink = edit(SEED, 'subnet: 192.168.10.0/24 }\n\n', 'subnet: 83.212.4.192/27 }\n\n');
    assert.deepEqual(problemsOf(guestless(overUplink), 'ganeti-seed.yaml'), []);
  });
});

describe('the resolved seed', () => {
  const cluster = clusterFromText(SEED);

  test("every node's interfaces: the NICs, then the bond over them", () => {
    for (const node of cluster.nodes) {
      assert.deepEqual(
        node.interfaces.map(({ path: _, ...i }) => i),
        [
          { kind: 'nic', name: 'eno1', mtu: 9000 },
          { kind: 'nic', name: 'eno2', mtu: 9000 },
          {
            kind: 'bond',
            name: 'bond0',
            mtu: 9000,
            mode: 'active-backup',
            slaves: ['eno1', 'eno2'],
            primary: 'eno1',
            miimon: 100,
            xmitHashPolicy: undefined,
          },
        ],
      );
      assert.equal(node.uplinkBridge, 'br0');
      assert.deepEqual(node.uplinkPorts, ['bond0']);
    }
  });

  test('a bridge per VLAN over bond0.<vlan>; prv0 shared by private-a and private-b over bond0.990', () => {
    assert.deepEqual(
      cluster.bridged.map((n) => [n.name, n.mode, n.bridge, n.uplink?.device, n.mtu, n.macPrefix]),
      [
        ['vlan104', 'bridged', 'vlan104', 'bond0.104', 9000, undefined],
        ['vlan992', 'bridged', 'vlan992', 'bond0.992', 1500, undefined],
        ['private-a', 'private', 'prv0', 'bond0.990', undefined, 'aa:00:10'],
        ['private-b', 'private', 'prv0', 'bond0.990', undefined, 'aa:00:20'],
      ],
    );
    assert.deepEqual(cluster.networks, [], 'no gateway network: the nodes route none of these');
  });

  test("the guests' NICs, and NIC 0 as the guest's own network and address", () => {
    const vm2 = cluster.guests.find((g) => g.name === 'vm2');
    assert.ok(vm2);
    assert.deepEqual(
      vm2.nics.map((n) => [n.index, n.network, n.mac, n.address, n.firewall, n.spoof]),
      [
        [0, 'vlan104', '52:54:00:00:02:04', 0x3ed97c0b, 'limited', 'drop'],
        [1, 'private-a', 'aa:00:10:00:00:02', 0xc0a80a02, 'unprotected', 'drop'],
      ],
    );
    assert.deepEqual([vm2.network, vm2.address, vm2.mac], ['vlan104', 0x3ed97c0b, '52:54:00:00:02:04']);
    assert.equal(cluster.guests.find((g) => g.name === 'vm4')?.nics[0]?.spoof, 'allow');
  });

  test('pool slots: allocated in order, kept when a network is appended, a pinned one kept', () => {
    const slots = (text: string) =>
      Object.fromEntries(
        clusterFromText(text).bridged.flatMap((n) =>
          n.pool ? [[n.name, [n.pool.slot, n.bridge, n.uplink?.device]]] : [],
        ),
      );
    assert.deepEqual(slots(POOLED), { tenant1: [1, 'prv1', 'bond0.401'], tenant2: [2, 'prv2', 'bond0.402'] });
    const appended = edit(
      POOLED,
      '\nguests:',
      '  tenant3: { mode: private, pool: prv, subnet: 10.0.3.0/24 }\n\nguests:',
    );
    assert.deepEqual(slots(appended), {
      tenant1: [1, 'prv1', 'bond0.401'],
      tenant2: [2, 'prv2', 'bond0.402'],
      tenant3: [3, 'prv3', 'bond0.403'],
    });
    const pinned = edit(
      POOLED,
      'tenant2: { mode: private, pool: prv,',
      'tenant2: { mode: private, pool: prv, slot: 1,',
    );
    assert.deepEqual(slots(pinned), { tenant1: [2, 'prv2', 'bond0.402'], tenant2: [1, 'prv1', 'bond0.401'] });
  });
});
