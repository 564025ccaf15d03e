// Synthetic clusters for property tests, benchmarks and the generated example: N nodes in a line of
// pipes, G guests spread round-robin over the nodes, F forwards alternating strategy and protocol.
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.ts';

export interface GenerateOptions {
  readonly nodes: number;
  readonly guests: number;
  readonly forwards: number;
  /** Pin tags on these node indexes (explicit tags counted down from 255). */
  readonly pinned?: readonly number[];
  readonly strategy?: 'fullnat' | 'stateless' | 'mixed';
}

const base = (text: string) => parseIPv4(text) as number;

/** The raw spec object, as a user would write it in YAML. */
export function generateSpec(o: GenerateOptions): Record<string, unknown> {
  const nodeNames = Array.from({ length: o.nodes }, (_, i) => `node${i + 1}`);
  const pinned = new Set(o.pinned ?? []);
  const nodes: Record<string, unknown> = {};
  nodeNames.forEach((name, i) => {
    nodes[name] = { address: formatIPv4(base('172.16.1.1') + i), ...(pinned.has(i) ? { tag: 255 - i } : {}) };
  });
  const nodeAddresses: Record<string, string> = {};
  nodeNames.forEach((name, i) => {
    nodeAddresses[name] = formatIPv4(base('10.64.254.1') + i);
  });
  const pipes = nodeNames
    .slice(1)
    .map((name, i) => ({ [nodeNames[i] as string]: 'eth1.100', [name]: 'eth2.100' }));
  const guests: Record<string, unknown> = {};
  for (let j = 0; j < o.guests; j++) {
    guests[`guest${j + 1}`] = { node: nodeNames[j % o.nodes], address: formatIPv4(base('10.64.0.1') + j) };
  }
  const forwards: unknown[] = [];
  const strategy = o.strategy ?? 'mixed';
  for (let k = 0; k < o.forwards && o.guests > 0; k++) {
    forwards.push({
      proto: k % 4 < 3 ? 'tcp' : 'udp',
      port: 10000 + k,
      to: `guest${(k % o.guests) + 1}`,
      // Unique guest ports: a stateless reply is mapped back by (guest, proto, guest port) alone.
      toPort: k % 5 === 0 ? 10000 + k : 30000 + k,
      strategy: strategy === 'mixed' ? (k % 2 === 0 ? 'stateless' : 'fullnat') : strategy,
    });
  }
  return {
    name: `gen-${o.nodes}n`,
    strategy: 'fullnat',
    uplink: { subnet: '172.16.0.0/16', gateway: '172.16.0.1', bridge: 'xenbr0', ports: ['eth0'] },
    nodes,
    networks: {
      guestnet: {
        bridge: 'guestbr0',
        subnet: '10.64.0.0/16',
        gateway: '10.64.255.254',
        nodes: nodeAddresses,
        pipes,
      },
    },
    guests,
    forwards,
  };
}
