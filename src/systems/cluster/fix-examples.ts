// How to write each mapping or list of a cluster spec, by where it is ("*" a name, "[]" a list
// item): the fix line of a problem there (src/input/issues.ts). One line each.
export const CLUSTER_EXAMPLES: Readonly<Record<string, string>> = {
  uplink: 'uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1 }',
  'uplink.ports': 'ports: [eth0]',
  nodes: 'nodes: { node1: { address: 192.168.122.11 } }',
  'nodes.*': 'node1: { address: 192.168.122.11 }',
  'nodes.*.uplink': 'uplink: { bridge: xenbr0, ports: [eth0] }',
  'nodes.*.uplink.ports': 'ports: [eth0]',
  networks:
    'networks: { guestnet: { subnet: 10.5.5.0/24, gateway: 10.5.5.254, nodes: { node1: 10.5.5.251 } } }',
  'networks.*': 'guestnet: { subnet: 10.5.5.0/24, gateway: 10.5.5.254, nodes: { node1: 10.5.5.251 } }',
  'networks.*.nodes': 'nodes: { node1: 10.5.5.251, node2: 10.5.5.252 }',
  'networks.*.pipes': 'pipes: [{ node1: eth1.100, node2: eth1.100 }]',
  'networks.*.pipes[]': '- { node1: eth1.100, node2: eth1.100 }',
  guests: 'guests: { guest1: { node: node1, address: 10.5.5.201 } }',
  'guests.*': 'guest1: { node: node1, address: 10.5.5.201 }',
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
