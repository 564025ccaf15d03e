// The cluster spec the spec-error tests change one piece of: two nodes, one anycast network, two
// guests, two forwards.
import assert from 'node:assert/strict';

export const BASE = `name: t
uplink:
  subnet: 192.168.122.0/24
  gateway: 192.168.122.1
nodes:
  node1: { address: 192.168.122.11 }
  node2: { address: 192.168.122.12 }
networks:
  guestnet:
    subnet: 10.5.5.0/24
    gateway: 10.5.5.254
    nodes: { node1: 10.5.5.251, node2: 10.5.5.252 }
    pipes:
      - { node1: eth1.100, node2: eth1.100 }
guests:
  guest1: { node: node1, address: 10.5.5.201, mac: "52:54:00:00:00:01" }
  guest2: { node: node2, address: 10.5.5.202, mac: "52:54:00:00:00:02" }
forwards:
  - { port: 80, to: guest1 }
  - { port: 2202, to: guest2, toPort: 22 }
`;

export function variant(from: string, to: string): string {
  assert.ok(BASE.includes(from), `fixture text not found: ${from}`);
  return BASE.replace(from, to);
}
