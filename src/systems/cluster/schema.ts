// The cluster spec as the user writes it (YAML), in one zod schema. The TypeScript types and the
// JSON Schema for editors (schema/convergent.schema.json, `npm run schema`) both come from here.
// Only shape and syntax live here; relations between objects are checked in validate.ts.
import { z } from 'zod';
import {
  ipv4Address,
  ipv4Prefix,
  ipv6Address,
  ipv6Prefix,
  macAddress,
  specName,
  wholeNumber,
} from '../../input/primitives.ts';
import { MarksSchema } from '../marks/schema.ts';
import { CheckSchema } from './schema-checks.ts';
import { NicSchema } from './schema-guests.ts';
import { InterfacesSchema, ifname, mtu, VlanPoolSchema, vlanId } from './schema-interfaces.ts';

/** Inbound strategies: how a connection entering on one node reaches a guest hosted on another. */
export const STRATEGIES = ['fullnat', 'stateless', 'ctsync'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const name = (what: string) =>
  specName(
    /^[a-z][a-z0-9-]{0,30}$/,
    `${what} names start with a lowercase letter and use only a-z, 0-9 and "-" (at most 31 characters)`,
  ).describe(`${what} name`);

const ipv4 = ipv4Address('192.168.122.11').describe('IPv4 address');

const prefix = ipv4Prefix('10.5.5.0/24').describe('IPv4 prefix, network/length');

const mac = macAddress();

const port = wholeNumber({
  expected: 'expected a port number (1-65535)',
  min: [1, 'ports start at 1'],
  max: [65535, 'ports end at 65535'],
});

export const UplinkPortsSchema = z.strictObject({
  bridge: ifname.describe('The uplink ("perimeter") bridge holding the node\'s public address, e.g. xenbr0'),
  ports: z
    .array(ifname)
    .describe(
      "The uplink bridge's ports: one NIC, or a bond of several (two NICs side by side loop: bond them), e.g. [eth0] or [bond0]. Empty: the bridge exists already.",
    )
    .default([]),
});

export const UplinkSchema = z.strictObject({
  subnet: prefix.describe("The uplink segment the nodes' public addresses live in"),
  gateway: ipv4.describe('The upstream router on the uplink segment (default route of every node)'),
  bridge: ifname.describe('Default uplink bridge name on every node, e.g. xenbr0').default('xenbr0'),
  ports: z
    .array(ifname)
    .describe('Default ports of the uplink bridge: one NIC or a bond, e.g. [eth0] or [bond0]')
    .default([]),
});

export const NodeSchema = z.strictObject({
  address: ipv4.describe("The node's public address on the uplink bridge (what DNS round-robin points at)"),
  tag: wholeNumber({
    expected: 'expected a node tag, a whole number from 1 to 255',
    min: [1, 'node tags start at 1 (0 means "no tag")'],
    max: [255, 'node tags end at 255 (one octet of the guest-bridge MAC)'],
  })
    .optional()
    .describe(
      'Node tag (1-255): identifies the node on the cluster pipes through its guest-bridge MAC prefix ' +
        'and marks the flows it let in. Allocated in order of appearance when absent; pin it to keep it ' +
        'when nodes are removed or reordered.',
    ),
  uplink: UplinkPortsSchema.optional().describe(
    "Overrides the cluster's uplink bridge and ports for this node",
  ),
  interfaces: InterfacesSchema.optional().describe(
    "This node's own interfaces: added to the cluster's, replacing those of the same name",
  ),
});

// A pipe joins the guest bridges of exactly two nodes: `{ node1: eth1.100, node2: eth1.100 }`.
export const PipeSchema = z
  .record(name('node'), ifname)
  .describe(
    'A cluster pipe: two entries, node name -> the interface on that node, e.g. { node1: eth1.100, node2: eth2.100 }',
  );

/**
 * How a network reaches its guests: "gateway" (every node is the guests' anycast gateway, seeds
 * 000/001), "bridged" (a bridge per VLAN on every node, the gateway upstream, F17) or "private" (no
 * gateway: MAC-filtered on a shared bridge, F23, or a bridge+VLAN pair from a pool, F24) or "routed"
 * (IP-less routed, F18/F19: no shared L2; every node routes its guests' addresses, proxying ARP and NDP).
 */
export const NETWORK_MODES = ['gateway', 'bridged', 'private', 'routed'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const NetworkSchema = z.strictObject({
  mode: z
    .enum(NETWORK_MODES, { error: `mode is one of: ${NETWORK_MODES.join(', ')}` })
    .default('gateway')
    .describe(
      '"gateway" (default: every node is the anycast gateway and NAT), "bridged" (the nodes bridge a VLAN; the gateway is upstream), "private" (isolated L2: by MAC prefix on a shared bridge, or a VLAN from a pool) or "routed" (IP-less routed: each node routes its own guests\' addresses over the trunk, answering ARP and NDP for them; no shared L2)',
    ),
  bridge: ifname
    .optional()
    .describe(
      'The bridge on every node: guestbr0 (gateway), vlan<VLAN> (bridged; named as the network when untagged), prv0 (private by MAC prefix), <pool prefix>N (private from a pool) when left out',
    ),
  subnet: prefix.describe(
    "The guests' subnet: apart from the uplink's and every gateway or bridged network's; private networks, which nothing routes, may share one",
  ),
  gateway: ipv4
    .optional()
    .describe(
      "gateway: the anycast gateway address on every node's guest bridge; bridged and routed: the upstream router the guests use (routed: or the router node's address)",
    ),
  nodes: z
    .record(name('node'), ipv4)
    .optional()
    .describe("gateway: each node's own (primary) address on the guest bridge, e.g. { node1: 10.5.5.251 }"),
  trunk: ifname
    .optional()
    .describe(
      'bridged, private and routed: the NIC or bond carrying the network between the nodes (declared under interfaces: or an uplink port), e.g. bond0',
    ),
  vlan: vlanId
    .optional()
    .describe(
      'bridged, private and routed: the VLAN on the trunk (the bridge holds <trunk>.<vlan>; a routed network uses <trunk>.<vlan> itself); untagged when left out',
    ),
  table: wholeNumber({
    expected: 'table is a routing table number from 1 to 2147483647 (not 253-255: default, main, local)',
    min: [1, 'table 0 is "unspec": routing tables start at 1'],
    max: [2147483647, 'routing tables end at 2147483647'],
  })
    .optional()
    .describe(
      "routed: the network's routing table (named as the network in rt_tables.d); the VLAN when tagged, else allocated from 100 in order of appearance, when left out. " +
        "gateway with insert: the table steering its traffic into the appliance (named <network>-insert), allocated after the routed networks' when left out",
    ),
  arpAddress: ipv4
    .optional()
    .describe(
      "routed: the source of the ARP requests the nodes send toward the trunk (gnt-networking's ARP_IP: no node owns an address in the subnet); the subnet's last host when left out",
    ),
  subnet6: ipv6Prefix('2001:db8::/64')
    .optional()
    .describe('routed: the IPv6 /64 of the guests (an address6 each, or the EUI-64 of its MAC)'),
  gateway6: ipv6Address('2001:db8::1')
    .optional()
    .describe("routed: the upstream IPv6 router (or the router node's address6) in subnet6"),
  tapMac: mac
    .optional()
    .describe(
      "routed: the MAC every guest tap takes, so a guest sees one neighbour wherever it runs; gnt-networking's cc:47:52:4e:45:54 when left out",
    ),
  router: name('node')
    .optional()
    .describe(
      "routed: the node that is the network's router (F26): it holds the gateway addresses on the trunk's VLAN and masquerades the subnet out its uplink; it may host guests too. " +
        "gateway: the one node holding the gateway address and the network's NAT (seed 004's tenant router) instead of every node (anycast); guests on other nodes reach it over the pipes",
    ),
  snat: ipv4
    .optional()
    .describe(
      "gateway with a router: the router's address on the uplink that the subnet leaves as (seed 004's external gateway address); the router node's own address when left out",
    ),
  insert: name('guest')
    .optional()
    .describe(
      "gateway with a router: an appliance (a guest whose NIC is on a transit network of the same router) that the network's traffic to and from the uplink passes, both ways, steered by policy routing (F34)",
    ),
  transit: z
    .boolean()
    .default(false)
    .describe(
      'gateway with a router: the network of an appliance (F38): its ports are exempt from anti-spoofing, as the appliance forwards packets of other addresses',
    ),
  mtu: mtu
    .optional()
    .describe("The bridge's MTU, which guest taps take; at most the trunk's, and the trunk's when left out"),
  macPrefix: z
    .string()
    .regex(/^[0-9a-f][26ae]:[0-9a-f]{2}:[0-9a-f]0$/, {
      error:
        'macPrefix is the first 20 bits of a locally administered MAC (mask ff:ff:f0:00:00:00): three octets, the last ending in 0, e.g. "aa:00:10"',
    })
    .optional()
    .describe(
      "private: the MAC prefix (mask ff:ff:f0:00:00:00) of this network's guests on a shared bridge; every NIC's MAC lies in it, and no other network has it",
    ),
  pool: name('pool').optional().describe('private: take a bridge and VLAN from this pool of vlanPools'),
  slot: wholeNumber({
    expected: "slot is a whole number from 1 to the pool's size",
    min: [1, 'slots start at 1'],
    max: [4094, 'slots end at 4094'],
  })
    .optional()
    .describe(
      'private from a pool: pins the network to slot N (bridge prvN, VLAN base+N); allocated in order of appearance when left out',
    ),
  pipes: z
    .array(PipeSchema)
    .describe("Cluster pipes joining the nodes' guest bridges into one segment")
    .default([]),
  stp: z
    .boolean()
    .describe('Run STP on the guest bridge: required when the pipes form a loop (a ring of three nodes)')
    .default(false),
  forwardDelay: wholeNumber({
    expected: 'forwardDelay is a number of seconds from 2 to 30',
    whole: 'forwardDelay is a whole number of seconds',
    min: [2, 'the bridge accepts a forwardDelay of 2 s at least'],
    max: [30, 'the bridge accepts a forwardDelay of 30 s at most'],
  })
    .optional()
    .describe(
      'STP forward delay in seconds (kernel default 15): a port listens and learns for twice this long before it forwards',
    ),
});

export const GuestSchema = z.strictObject({
  node: name('node').describe('The node hosting the guest'),
  network: name('network').optional().describe('The guest network; may be left out when there is only one'),
  address: ipv4.optional().describe("The guest's address in its network (a guest with one NIC)"),
  mac: mac.optional().describe("The guest's MAC address"),
  floating: ipv4
    .optional()
    .describe(
      "A public address of the guest's own on the uplink (a floating IP): 1:1 NAT both ways on its network's router node",
    ),
  nics: z
    .array(NicSchema)
    .min(1, { error: 'list at least one NIC, or write network/address/mac on the guest itself' })
    .optional()
    .describe("The guest's NICs in order (nic 0 first), instead of network/address/mac"),
});

/** What forwards and proxies share: a public port on some nodes (all by default), led to a guest's port. */
const publicPortToGuest = (words: {
  readonly verb: string;
  readonly guest: string;
  readonly toPort: string;
  readonly nodes: string;
}) => ({
  port: port.describe("The public port on the nodes' public addresses"),
  to: name('guest').describe(words.guest),
  toPort: port.optional().describe(words.toPort),
  nodes: z
    .array(name('node'))
    .min(1, { error: `list at least one node, or leave "nodes" out to ${words.verb} on every node` })
    .optional()
    .describe(words.nodes),
});

export const ForwardSchema = z.strictObject({
  proto: z.enum(['tcp', 'udp'], { error: 'proto is "tcp" or "udp"' }).default('tcp'),
  ...publicPortToGuest({
    verb: 'forward',
    guest: 'The guest receiving the traffic',
    toPort: "The guest's port; the public port when left out",
    nodes: "Only on these nodes' public addresses; every node when left out",
  }),
  strategy: z
    .enum(STRATEGIES, { error: `strategy is one of: ${STRATEGIES.join(', ')}` })
    .optional()
    .describe("Overrides the cluster's inbound strategy for this forward"),
});

// Strategy ctsync (seed part 3, option 2): conntrackd replicates conntrack state between the nodes
// over one guest network's pipes, by multicast.
export const SYNC_MODES = ['ftfw', 'notrack'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const SyncSchema = z.strictObject({
  network: name('network')
    .optional()
    .describe('The network whose pipes carry the sync traffic; may be left out when there is only one'),
  group: ipv4
    .prefault('225.0.0.50')
    .describe("conntrackd's multicast group (conntrackd's own default is 225.0.0.50)"),
  port: port.default(3780).describe("conntrackd's UDP port for the group (conntrackd's default 3780)"),
  mode: z
    .enum(SYNC_MODES, { error: `mode is one of: ${SYNC_MODES.join(', ')}` })
    .optional()
    .describe(
      'conntrackd protocol: "ftfw" (acknowledged, resent; two nodes only) or "notrack" (best effort, any number of nodes); ftfw for two nodes when left out',
    ),
});

// An HTTP reverse proxy on the nodes (seed part 3, use case U1): it terminates the client's
// connection on the node and opens its own to the guest, from the node's guest-bridge address.
export const ProxySchema = z.strictObject(
  publicPortToGuest({
    verb: 'proxy',
    guest: 'The guest serving HTTP behind the proxy',
    toPort: "The guest's HTTP port; the public port when left out",
    nodes: 'Only on these nodes; every node when left out',
  }),
);

/** The sync of a cluster whose spec has no "sync:", as the schema fills it in. */
export const SYNC_DEFAULTS: z.output<typeof SyncSchema> = SyncSchema.parse({});

export const ClusterSchema = z.strictObject({
  kind: z
    .literal('cluster')
    .optional()
    .describe(
      'What the file describes: a cluster of nodes (the default) or, with "kind: cgnat", a CGNAT router',
    ),
  name: name('cluster').describe("The cluster's name; it appears in every rendered file"),
  strategy: z
    .enum(STRATEGIES, { error: `strategy is one of: ${STRATEGIES.join(', ')}` })
    .default('fullnat')
    .describe(
      'Inbound strategy: "fullnat" (DNAT + SNAT to the entering node\'s guest-bridge address; the guest ' +
        'sees that node), "stateless" (stateless DNAT with per-node tags; the guest sees the client) or ' +
        '"ctsync" (DNAT, with conntrack state replicated by conntrackd; the guest sees the client).',
    ),
  tagMacPrefix: z
    .string()
    .regex(/^[0-9a-f][26ae]$/, {
      error: 'tagMacPrefix is one locally administered unicast octet, e.g. "0a"',
    })
    .default('0a')
    .describe(
      "First octet of every node's guest-bridge MAC; the second octet is the node tag: 0a:<tag>:00:00:00:01",
    ),
  uplink: UplinkSchema,
  interfaces: InterfacesSchema.default({}).describe(
    'Interfaces every node has (NICs with their MTU, bonds, VLANs); a node adds or replaces its own',
  ),
  vlanPools: z
    .record(name('pool'), VlanPoolSchema)
    .default({})
    .describe('Pools of VLANs for private networks: network N of a pool is bridge prvN over VLAN base+N'),
  nodes: z.record(name('node'), NodeSchema).describe('The hypervisor nodes, by name'),
  networks: z
    .record(name('network'), NetworkSchema)
    .describe('Guest networks (L2 segments spanning the nodes)'),
  guests: z.record(name('guest'), GuestSchema).describe('Guests (VMs), by name').prefault({}),
  forwards: z
    .array(ForwardSchema)
    .describe("Inbound port forwards from the nodes' public addresses")
    .default([]),
  sync: SyncSchema.optional().describe('conntrackd state replication, for strategy ctsync'),
  marks: MarksSchema.optional().describe(
    'Packet and connection marks (strategy stateless carries node tags in them): the bits convergent uses, and the marks of other software on the nodes',
  ),
  proxies: z
    .array(ProxySchema)
    .describe('HTTP reverse proxies (HAProxy) on the nodes in front of guests')
    .default([]),
  checks: z
    .array(CheckSchema)
    .optional()
    .describe('Lab checks with real traffic; derived from the forwards when left out'),
});

export type ClusterSpec = z.output<typeof ClusterSchema>;
export type NodeSpec = z.output<typeof NodeSchema>;
export type NetworkSpec = z.output<typeof NetworkSchema>;
export type GuestSpec = z.output<typeof GuestSchema>;
export type ForwardSpec = z.output<typeof ForwardSchema>;
export type CheckSpec = z.output<typeof CheckSchema>;
export type ProxySpec = z.output<typeof ProxySchema>;
export type SyncSpec = z.output<typeof SyncSchema>;
export { CHECK_PROTOS, type CheckProto, CheckSchema } from './schema-checks.ts';
export type { NicSpec } from './schema-guests.ts';
export type { InterfaceSpec, VlanPoolSpec } from './schema-interfaces.ts';
