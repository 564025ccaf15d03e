// How to write each mapping or list of a cluster spec, by where it is ("*" a name, "[]" a list
// item): the fix line of a problem there (src/input/issues.ts). One line each.
export const CLUSTER_EXAMPLES: Readonly<Record<string, string>> = {
  uplink: 'uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1 }',
  'uplink.ports': 'ports: [eth0]',
  nodes: 'nodes: { node1: { address: 192.168.122.11 } }',
  'nodes.*': 'node1: { address: 192.168.122.11 }',
  'nodes.*.uplink': 'uplink: { bridge: xenbr0, ports: [eth0] }',
  'nodes.*.uplink.ports': 'ports: [eth0]',
  // Node interfaces (seed 003): a NIC, a bond over two NICs, a VLAN on the bond by its name.
  interfaces:
    'interfaces: { eno1: { mtu: 9000 }, eno2: { mtu: 9000 }, bond0: { mtu: 9000, bond: { slaves: [eno1, eno2] } } }',
  'interfaces.*':
    'eno1: { mtu: 9000 } (a NIC), bond0: { bond: { slaves: [eno1, eno2] } } (a bond) or bond0.992: {} (a VLAN)',
  'interfaces.*.bond': 'bond: { mode: active-backup, slaves: [eno1, eno2], primary: eno1 }',
  'interfaces.*.bond.slaves': 'slaves: [eno1, eno2]',
  'interfaces.*.vlan': 'vlan: { parent: bond0, id: 992 }',
  'interfaces.*.vlan.parent': 'parent: bond0',
  'nodes.*.interfaces': 'interfaces: { eno3: { mtu: 9000 } }',
  'nodes.*.interfaces.*':
    'eno1: { mtu: 9000 } (a NIC), bond0: { bond: { slaves: [eno1, eno2] } } (a bond) or bond0.992: {} (a VLAN)',
  'nodes.*.interfaces.*.bond': 'bond: { mode: active-backup, slaves: [eno1, eno2], primary: eno1 }',
  'nodes.*.interfaces.*.bond.slaves': 'slaves: [eno1, eno2]',
  'nodes.*.interfaces.*.vlan': 'vlan: { parent: bond0, id: 992 }',
  'nodes.*.interfaces.*.vlan.parent': 'parent: bond0',
  vlanPools: 'vlanPools: { prv: { trunk: bond0, base: 400, size: 20 } }',
  'vlanPools.*': 'prv: { trunk: bond0, base: 400, size: 20 }',
  'vlanPools.*.trunk': 'trunk: bond0',
  networks:
    'networks: { guestnet: { subnet: 10.5.5.0/24, gateway: 10.5.5.254, nodes: { node1: 10.5.5.251 } } }',
  // A network of each mode: the nodes its gateway, a VLAN the nodes bridge, a private one by MAC prefix.
  'networks.*':
    'guestnet: { subnet: 10.5.5.0/24, gateway: 10.5.5.254, nodes: { node1: 10.5.5.251 } } (gateway), ' +
    'vlan104: { mode: bridged, trunk: bond0, vlan: 104, subnet: 62.217.124.0/26, gateway: 62.217.124.1 } (bridged) or ' +
    'private-a: { mode: private, trunk: bond0, vlan: 990, macPrefix: "aa:00:10", subnet: 192.168.10.0/24 } (private)',
  'networks.*.trunk': 'trunk: bond0',
  'networks.*.nodes': 'nodes: { node1: 10.5.5.251, node2: 10.5.5.252 }',
  'networks.*.pipes': 'pipes: [{ node1: eth1.100, node2: eth1.100 }]',
  'networks.*.pipes[]': '- { node1: eth1.100, node2: eth1.100 }',
  guests: 'guests: { guest1: { node: node1, address: 10.5.5.201 } }',
  'guests.*':
    'guest1: { node: node1, address: 10.5.5.201 } (one NIC) or ' +
    'vm1: { node: node1, nics: [{ network: vlan104, mac: "52:54:00:00:01:04", address: 62.217.124.10 }] }',
  'guests.*.nics':
    'nics: [{ network: vlan104, mac: "52:54:00:00:01:04", address: 62.217.124.10, firewall: protected }]',
  'guests.*.nics[]':
    '- { network: vlan104, mac: "52:54:00:00:01:04", address: 62.217.124.10, firewall: protected }',
  forwards: 'forwards: [{ port: 80, to: guest1 }]',
  'forwards[]': '- { port: 80, to: guest1 }',
  'forwards[].nodes': 'nodes: [node1, node2]',
  sync: 'sync: { network: guestnet }',
  proxies: 'proxies: [{ port: 8080, to: guest1, toPort: 80 }]',
  'proxies[]': '- { port: 8080, to: guest1, toPort: 80 }',
  'proxies[].nodes': 'nodes: [node1, node2]',
  checks: 'checks: [{ to: node1, proto: http, port: 80, expect: { answers: guest1 } }]',
  'checks[]': '- { to: node1, proto: http, port: 80, expect: { answers: guest1 } }',
  'checks[].expect': 'expect: { answers: guest1 }',
};
