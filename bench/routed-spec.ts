// The cluster of bench/routed.bench.ts: one node whose routed network `public` (untagged on the trunk
// eth1, table 500, 10.80.0.0/16 and 2001:db8::/64, the upstream router at .1 and ::1, as
// examples/routed-flat.yaml's `public` but wide enough for 10,000 guests) holds `guests` guests, each
// one NIC with a MAC and an address (its address6 the EUI-64 of the MAC). The bench's own two: the
// server `s` (limited: new TCP to 22 passes its profile), a real namespace behind a veth, and `p`,
// whose tap `nic up` plugs again and again; the others are g2, g3, ...
export const NODE = 'node1';
export const NETWORK = 'public';
export const TABLE = 500;
export const TRUNK = 'eth1';
export const PREFIX_LENGTH = 16;
export const SUBNET = `10.80.0.0/${PREFIX_LENGTH}`;
export const GATEWAY = '10.80.0.1';
export const SUBNET6 = '2001:db8::/64';
export const GATEWAY6 = '2001:db8::1';
export const SERVER = 's';
export const PROBE = 'p';
/** The internet host behind the upstream router that dials the server. */
export const CLIENT_NET = { client: '198.51.100.2', router: '198.51.100.1', length: 24 } as const;
/** An address of the subnet no guest has: its lookups end at the subnet's route, not a /32. */
export const NOBODY = '10.80.255.200';

/** The i-th guest address of 10.80.0.0/16, from 10.80.0.10 on. */
export const addressOf = (i: number) => `10.80.${(i + 10) >> 8}.${(i + 10) & 255}`;
/** A MAC of QEMU's 52:54:00 range, the i-th. */
const macOf = (i: number) =>
  `52:54:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
/** The i-th guest's name: the bench's own two, then g2, g3, ... */
export const guestName = (i: number) => [SERVER, PROBE][i] ?? `g${i}`;

export interface BenchGuest {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
}

export const SERVER_GUEST: BenchGuest = { name: SERVER, mac: macOf(0), address: addressOf(0) };

/** A spec with `guests` guests on node1 (at least the bench's own two). */
export function routedSpec(guests: number): unknown {
  const entries = [];
  for (let i = 0; i < Math.max(guests, 2); i++) {
    const firewall = i === 0 ? 'limited' : 'protected';
    const nic = { network: NETWORK, mac: macOf(i), address: addressOf(i), firewall };
    entries.push([guestName(i), { node: NODE, nics: [nic] }]);
  }
  return {
    name: `bench-routed-${guests}`,
    uplink: { subnet: '192.168.122.0/24', gateway: '192.168.122.1', bridge: 'vmbr0', ports: ['eth0'] },
    interfaces: { [TRUNK]: {} },
    nodes: { [NODE]: { address: '192.168.122.11' } },
    networks: {
      [NETWORK]: {
        mode: 'routed',
        trunk: TRUNK,
        subnet: SUBNET,
        gateway: GATEWAY,
        table: TABLE,
        subnet6: SUBNET6,
        gateway6: GATEWAY6,
      },
    },
    guests: Object.fromEntries(entries),
  };
}
