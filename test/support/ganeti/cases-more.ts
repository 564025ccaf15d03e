// check's problems for mistakes in VLAN pools and in what only a gateway network has.
import type { Case } from './fixtures.ts';

export const POOL_CASES: Case[] = [
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

export const GATEWAY_CASES: Case[] = [
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
