// For the coexistence test (marks-examples.test.ts): per example and host, one TCP flow through the
// host that convergent's own mark statements act on where the example has any: a stateless forward
// to a guest on the node (its tag into the packet mark, then into the ct mark), a CGNAT subscriber
// to the uplink peer (its tenant into the ct mark, and into its replies' packet mark). Examples
// without marks get a flow from the uplink to a server behind a guest bridge, through all their chains.
import type { Cgnat } from '../../src/systems/cgnat/model.ts';
import { readCgnat } from '../../src/systems/cgnat/system.ts';
import type { Cluster, Node } from '../../src/systems/cluster/model.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { readSpec } from '../../src/systems/registry.ts';
import { formatIPv4, lastAddress } from '../../src/util/ipv4.ts';

/** One side of the host: its link (named as the ruleset knows it), its address, the peer's. */
export interface Side {
  readonly dev: string;
  /** The host's address on the link, "a.b.c.d/len"; the peer routes through it. */
  readonly host: string;
  /** The client's or the server's address, "a.b.c.d/len". */
  readonly peer: string;
  /** More local addresses of the host on this link (a CGNAT pool), "a.b.c.d". */
  readonly extra?: readonly string[];
}

export interface MarkFlow {
  /** What convergent does to the flow, for the test's name and messages. */
  readonly what: string;
  readonly client: Side;
  readonly server: Side;
  /** What the client dials; the server listens on `port` (convergent may rewrite to it). */
  readonly dial: { readonly address: string; readonly port: number };
  readonly port: number;
  /** The source addresses the server may see: the client's own, or a CGNAT pool address. */
  readonly sees: readonly string[];
  /** convergent writes marks on this flow: the unmasked variant must break it. */
  readonly marked: boolean;
  /** marks.mask: convergent's bits, in the flow's ct mark when it is marked. */
  readonly mask: number;
}

const cidr = (address: number, length: number) => `${formatIPv4(address)}/${length}`;
export const addressOf = (c: string) => c.split('/')[0] as string;

/** The flow through `host` for the example in `file`. */
export function markFlow(file: string, host: string): MarkFlow {
  return readSpec(file).system.kind === 'cgnat'
    ? cgnatFlow(readCgnat(file))
    : clusterFlow(readCluster(file), host);
}

function clusterFlow(cluster: Cluster, host: string): MarkFlow {
  const node = cluster.nodes.find((n) => n.name === host);
  if (!node) throw new Error(`no node ${host}`);
  const { subnet, gateway } = cluster.uplink;
  const client: Side = {
    dev: node.uplinkBridge,
    host: cidr(node.address, subnet.length),
    peer: cidr(gateway, subnet.length),
  };
  return statelessFlow(cluster, node, client) ?? plainFlow(cluster, node, client);
}

/** A client on the uplink dials a stateless forward of a guest on this node: both marks are written. */
function statelessFlow(cluster: Cluster, node: Node, client: Side): MarkFlow | undefined {
  const forward = cluster.forwards.find(
    (f) =>
      f.strategy === 'stateless' &&
      f.proto === 'tcp' &&
      f.nodes.includes(node.name) &&
      cluster.guests.find((g) => g.name === f.guest)?.node === node.name,
  );
  const guest = cluster.guests.find((g) => g.name === forward?.guest);
  const network = cluster.networks.find((n) => n.name === guest?.network);
  if (!forward || !guest || !network) return undefined;
  const length = network.subnet.length;
  return {
    what: `stateless forward tcp/${forward.port} -> ${guest.name}:${forward.toPort}`,
    client,
    server: {
      dev: network.bridge,
      host: cidr(network.gateway, length),
      peer: cidr(guest.address, length),
    },
    dial: { address: formatIPv4(node.address), port: forward.port },
    port: forward.toPort,
    sees: [addressOf(client.peer)],
    marked: true,
    mask: cluster.marks.mask,
  };
}

/** No marks of convergent's on this node: a server behind a guest bridge, reached from the uplink. */
function plainFlow(cluster: Cluster, node: Node, client: Side): MarkFlow {
  const bridges = [...cluster.networks, ...cluster.bridged].map((n) => n.bridge);
  return {
    what: 'a flow from the uplink to a guest bridge',
    client,
    server: {
      dev: bridges.find((b) => b !== node.uplinkBridge) ?? 'guest0',
      host: '203.0.113.1/24',
      peer: '203.0.113.10/24',
    },
    dial: { address: '203.0.113.10', port: 8080 },
    port: 8080,
    sees: [addressOf(client.peer)],
    marked: false,
    mask: cluster.marks.mask,
  };
}

/** A subscriber of the first tenant dials the uplink's peer: NATed from its port block. */
function cgnatFlow(cgnat: Cgnat): MarkFlow {
  const tenant = cgnat.tenants[0];
  const prefix = tenant?.subscribers[0];
  const uplink = cgnat.uplink.addresses.find((a) => a.family === 4);
  const peer = cgnat.peer.addresses.find((a) => a.family === 4);
  if (!tenant || !prefix || !uplink || !peer) throw new Error(`${cgnat.name}: no IPv4 tenant or uplink`);
  // The subscriber and its gateway are the prefix's second and last host: neither is the router's
  // own (a pool address may lie in it), or the router would refuse the source as a martian.
  const taken = new Set([uplink.text, ...cgnat.nat.pool.map(formatIPv4)]);
  const hosts = [prefix.network + 2, prefix.network + 3, lastAddress(prefix) - 1, lastAddress(prefix) - 2];
  const [subscriber, gateway] = hosts.filter((a) => !taken.has(formatIPv4(a)));
  if (subscriber === undefined || gateway === undefined)
    throw new Error(`${cgnat.name}: no free subscriber address in ${formatIPv4(prefix.network)}`);
  return {
    what: `CGNAT tenant ${tenant.name}'s subscriber to the uplink peer`,
    client: {
      dev: tenant.bridge,
      host: cidr(gateway, prefix.length),
      peer: cidr(subscriber, prefix.length),
    },
    server: {
      dev: cgnat.uplink.interface,
      host: `${uplink.text}/${uplink.length}`,
      peer: `${peer.text}/${peer.length}`,
      extra: cgnat.nat.pool.map(formatIPv4).filter((a) => a !== uplink.text),
    },
    dial: { address: peer.text, port: 8080 },
    port: 8080,
    sees: cgnat.nat.pool.map(formatIPv4),
    marked: true,
    mask: cgnat.marks.mask,
  };
}
