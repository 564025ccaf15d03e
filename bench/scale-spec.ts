// The specs of bench/scale.bench.ts: a strategy's example with the bench's own 10 forwards to guest1
// (the small variant, which the lab is built from), and the same spec plus synthetic guests and
// forwards up to the large sizes (the large variant, whose rulesets are loaded into a second lab built
// from the small spec: the synthetic guests have no namespaces, only their elements in the maps).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { formatIPv4, parseIPv4 } from '../src/util/ipv4.ts';

export const GUEST = 'guest1';
/** connrate.py's banner server: tcp/7000-7007, each destination port its own client ports. */
export const CONN_PORT = 7000;
export const CONN_PORTS = 8;
/** rrate.py's echo server: request/response on held connections. */
export const RR_PORT = 7100;
/** udpflood.py's sink. */
export const UDP_PORT = 9000;
/** The bench's forwards, all to guest1, on every node: the whole of the small variant's. */
export const OWN_FORWARDS = CONN_PORTS + 2;

/** The guest subnet, widened from the examples' /24 so that 10,000 guests fit (the nodes keep .5.x). */
export const SUBNET = '10.5.0.0/16';
/** Synthetic guests from here on (10.5.16.1, ...): apart from the examples' 10.5.5.x. */
const FIRST_SYNTHETIC = parseIPv4('10.5.16.1') as number;
/** Synthetic forwards' public ports from here, per protocol. */
export const FIRST_PUBLIC = 10_000;

export interface Sizes {
  /** Guests in all, the example's own included. */
  readonly guests: number;
  /** Forwards in all, the bench's own 10 included. */
  readonly forwards: number;
}

interface Spec {
  networks: Record<string, { subnet: string }>;
  guests: Record<string, unknown>;
  forwards: unknown[];
  checks?: unknown;
}

/**
 * The example with its forwards replaced by the bench's (the checks go with them: they name the
 * example's ports, and the bench runs none), its guest subnet widened to a /16.
 */
export function smallSpec(example: string): Spec {
  const spec = parse(readFileSync(example, 'utf8')) as Spec;
  for (const n of Object.values(spec.networks)) n.subnet = SUBNET;
  delete spec.checks;
  spec.forwards = [
    ...Array.from({ length: CONN_PORTS }, (_, i) => ({ port: CONN_PORT + i, to: GUEST })),
    { port: RR_PORT, to: GUEST },
    { proto: 'udp', port: UDP_PORT, to: GUEST },
  ];
  return spec;
}

/** How the large variant was made up, for the output. */
export interface Makeup {
  readonly syntheticGuests: number;
  readonly tcp: number;
  readonly udp: number;
  /** Forwards whose guest port differs from the public one. */
  readonly translated: number;
  readonly tcpPorts: string;
  readonly udpPorts: string;
}

/**
 * The small spec plus synthetic guests (round-robin over the nodes, addresses from 10.5.16.1) and
 * synthetic forwards on every node: 3 of 4 TCP, the public ports counted up per protocol from
 * 10,000 (a node address has 65,535 ports per protocol, so no forward needs `nodes:`), round-robin
 * over the synthetic guests; 4 of 5 translate the port (guest port from 1,024 up, unique per guest
 * and protocol: a stateless reply is mapped back by guest, protocol and guest port alone).
 */
export function largeSpec(example: string, sizes: Sizes): { spec: Spec; makeup: Makeup } {
  const spec = smallSpec(example);
  const nodes = Object.keys((spec as unknown as { nodes: Record<string, unknown> }).nodes);
  const own = Object.keys(spec.guests).length;
  const synthetic = sizes.guests - own;
  const names: string[] = [];
  for (let j = 0; j < synthetic; j++) {
    const name = `sg${j + 1}`;
    names.push(name);
    spec.guests[name] = { node: nodes[j % nodes.length], address: formatIPv4(FIRST_SYNTHETIC + j) };
  }
  const next = { tcp: FIRST_PUBLIC, udp: FIRST_PUBLIC };
  const guestPorts = new Map<string, number>(); // "guest proto" -> next guest port
  let translated = 0;
  for (let k = 0; k < sizes.forwards - OWN_FORWARDS; k++) {
    const proto = k % 4 < 3 ? 'tcp' : 'udp';
    const port = next[proto]++;
    if (port > 65_535)
      throw new Error(`${sizes.forwards} forwards do not fit one node address's ${proto} ports`);
    const to = names[k % names.length] as string;
    const forward: Record<string, unknown> = { proto, port, to };
    if (k % 5 !== 0) {
      // Guest ports 1024, 1025, ... per guest and protocol: below FIRST_PUBLIC, so never one that
      // another forward to the same guest uses untranslated.
      const key = `${to} ${proto}`;
      const toPort = guestPorts.get(key) ?? 1024;
      guestPorts.set(key, toPort + 1);
      forward.toPort = toPort;
      translated++;
    }
    spec.forwards.push(forward);
  }
  return {
    spec,
    makeup: {
      syntheticGuests: synthetic,
      tcp: next.tcp - FIRST_PUBLIC,
      udp: next.udp - FIRST_PUBLIC,
      translated,
      tcpPorts: `${FIRST_PUBLIC}-${next.tcp - 1}`,
      udpPorts: `${FIRST_PUBLIC}-${next.udp - 1}`,
    },
  };
}
