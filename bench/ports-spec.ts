// The cluster of bench/ports.bench.ts: one node whose bridged network (bridge vm0, untagged on eth1)
// holds `guests` guests, each one NIC with a MAC and an address, in turn protected, limited and
// unprotected. The bench's own three: the client `a` (protected), the server `b` (limited: new TCP
// to 22 passes) and `p`, whose tap `nic up` plugs again and again; the others are g1, g2, ...
export const NODE = 'node1';
export const BRIDGE = 'vm0';
export const PREFIX_LENGTH = 16;
export const CLIENT = 'a';
export const SERVER = 'b';
export const PROBE = 'p';
const PROFILES = ['protected', 'limited', 'unprotected'] as const;

/** The i-th guest address of 10.20.0.0/16, from 10.20.0.10 on. */
const address = (i: number) => `10.20.${(i + 10) >> 8}.${(i + 10) & 255}`;
/** A MAC of Proxmox's and QEMU's 52:54:00 range, the i-th. */
const mac = (i: number) =>
  `52:54:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

export interface BenchGuest {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
}

/** The bench's own guests: what the lab gives their namespaces. */
export const OWN: readonly BenchGuest[] = [CLIENT, SERVER, PROBE].map((name, i) => ({
  name,
  mac: mac(i),
  address: address(i),
}));

/** A spec with `guests` guests on node1 (at least the bench's own three). */
export function portsSpec(guests: number): unknown {
  const nic = (i: number, firewall: string) => ({ mac: mac(i), address: address(i), firewall });
  const own = { [CLIENT]: 'protected', [SERVER]: 'limited', [PROBE]: 'protected' };
  const entries = Object.entries(own).map(([name, firewall], i) => [
    name,
    { node: NODE, nics: [nic(i, firewall)] },
  ]);
  for (let i = OWN.length; i < guests; i++)
    entries.push([`g${i}`, { node: NODE, nics: [nic(i, PROFILES[i % PROFILES.length] as string)] }]);
  return {
    name: `bench-ports-${guests}`,
    uplink: { subnet: '192.168.122.0/24', gateway: '192.168.122.1', bridge: 'vmbr0', ports: ['eth0'] },
    interfaces: { eth1: {} },
    nodes: { [NODE]: { address: '192.168.122.11' } },
    networks: {
      vm: {
        mode: 'bridged',
        bridge: BRIDGE,
        trunk: 'eth1',
        subnet: `10.20.0.0/${PREFIX_LENGTH}`,
        gateway: '10.20.0.1',
      },
    },
    guests: Object.fromEntries(entries),
  };
}
