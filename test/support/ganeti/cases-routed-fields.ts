// check's problems for fields of one mode written on another, and for what may not point at a
// routed guest (issue 16), each made in ROUTED (routed.ts).
import type { RoutedCase } from './routed.ts';

export const ROUTED_FIELD_CASES: RoutedCase[] = [
  {
    name: "a private network's fields on a routed one",
    edits: [
      ['internal: { mode: routed,', 'internal: { mode: routed, macPrefix: "aa:00:10", pool: prv, slot: 1,'],
    ],
    expected: [
      'cluster.yaml:30:29: error: "macPrefix" belongs to private networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "macPrefix:"',
      'cluster.yaml:30:52: error: "pool" belongs to private networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "pool:"',
      'cluster.yaml:30:63: error: "slot" belongs to private networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "slot:"',
    ],
  },
  {
    name: "a gateway network's fields on a routed one",
    edits: [
      [
        'internal: { mode: routed,',
        'internal: { mode: routed, bridge: rt0, nodes: { node1: 10.50.0.2 }, stp: true, forwardDelay: 4, pipes: [{ node1: eth3, node2: eth3 }],',
      ],
    ],
    expected: [
      'cluster.yaml:30:29: error: "bridge" belongs to gateway, bridged and private networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "bridge:"',
      'cluster.yaml:30:42: error: "nodes" belongs to gateway networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "nodes:"',
      'cluster.yaml:30:71: error: "stp" belongs to gateway networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "stp:"',
      'cluster.yaml:30:82: error: "forwardDelay" belongs to gateway networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "forwardDelay:"',
      'cluster.yaml:30:99: error: "pipes" belongs to gateway networks; network internal is routed: no bridge, the nodes route its guests\' addresses to their taps\n  fix: remove "pipes:"',
    ],
  },
  {
    name: 'routed fields on a bridged network',
    edits: [
      [
        'vlan104: { mode: bridged,',
        'vlan104: { mode: bridged, table: 104, arpAddress: 62.217.124.30, subnet6: "2001:db8:104::/64", gateway6: "2001:db8:104::1", tapMac: "cc:47:52:4e:45:54", router: node1,',
      ],
    ],
    expected: [
      'cluster.yaml:31:29: error: "table" belongs to routed networks; network vlan104 is bridged\n  fix: remove "table:", or write mode: routed',
      'cluster.yaml:31:41: error: "arpAddress" belongs to routed networks; network vlan104 is bridged\n  fix: remove "arpAddress:", or write mode: routed',
      'cluster.yaml:31:68: error: "subnet6" belongs to routed networks; network vlan104 is bridged\n  fix: remove "subnet6:", or write mode: routed',
      'cluster.yaml:31:98: error: "gateway6" belongs to routed networks; network vlan104 is bridged\n  fix: remove "gateway6:", or write mode: routed',
      'cluster.yaml:31:127: error: "tapMac" belongs to routed networks; network vlan104 is bridged\n  fix: remove "tapMac:", or write mode: routed',
      'cluster.yaml:31:156: error: "router" belongs to routed networks; network vlan104 is bridged\n  fix: remove "router:", or write mode: routed',
    ],
  },
  {
    name: 'a forward to a routed guest',
    edits: [
      ['  vm3: {', '  vm3: {'],
      [
        'address: 62.217.124.10 }] }\n',
        'address: 62.217.124.10 }] }\n\nforwards:\n  - { port: 8080, to: vm1, toPort: 80 }\n',
      ],
    ],
    expected: [
      "cluster.yaml:47:23: error: forward to guest vm1, whose first NIC is on routed network public: the nodes forward only to guests on gateway networks\n  fix: lead it to a guest on a gateway network, or remove it: its own address, routed by network public's gateway, reaches vm1 from outside",
    ],
  },
  {
    name: 'a proxy to a routed guest',
    edits: [
      [
        'address: 62.217.124.10 }] }\n',
        'address: 62.217.124.10 }] }\n\nproxies:\n  - { port: 80, to: vm2 }\n',
      ],
    ],
    expected: [
      "cluster.yaml:47:21: error: proxy to guest vm2, whose first NIC is on routed network public: the nodes proxy only to guests on gateway networks\n  fix: lead it to a guest on a gateway network, or remove it: its own address, routed by network public's gateway, reaches vm2 from outside",
    ],
  },
  {
    name: "a routed VLAN in a pool's range",
    edits: [
      ['nodes:\n  node1', 'vlanPools:\n  prv: { trunk: bond0, base: 990, size: 4 }\n\nnodes:\n  node1'],
    ],
    expected: [
      'cluster.yaml:32:47: error: VLAN 993 on bond0 belongs to pool prv (VLANs 991-994), which hands it to its network 3\n  fix: give network tagged a VLAN outside the pool',
    ],
  },
];
