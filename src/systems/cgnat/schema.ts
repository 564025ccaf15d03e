// The CGNAT spec (`kind: cgnat`) as the user writes it: one router NATs the IPv4 of several tenants,
// whose address space may overlap, to a shared uplink with deterministic port blocks (RFC 7422),
// and routes their IPv6 without NAT. Shape and syntax only; relations are checked in validate.ts.
import { z } from 'zod';
import {
  count,
  interfaceName,
  ipAddress,
  ipAddressText,
  ipCidr,
  ipv4Address,
  ipv4Prefix,
  parsedBy,
  specName,
} from '../../input/primitives.ts';
import { MarksSchema } from '../marks/schema.ts';

// Host names become namespace and interface names (the router's port to a client is named after
// it, as in the demo: blue_c1), so they keep to what an interface name allows.
const hostName = (what: string) =>
  specName(
    /^[a-z][a-z0-9_-]{0,14}$/,
    `${what} names start with a lowercase letter and use only a-z, 0-9, "_" and "-" (at most 15 characters: they name interfaces)`,
  ).describe(`${what} name`);

// "up" is an ip(8) keyword: `ip link add up type vrf` fails. The name is legal; ip commands spell it
// after `name`/`dev`, which the renderer always does.
const ifname = interfaceName(
  'muplink',
  /^[A-Za-z0-9_.-]+$/,
  'interface names use only letters, digits and "_", ".", "-"',
);

const address = ipAddress();
// The checks keep their addresses as text: their resolution is the lab's (cgnat/resolve.ts).
const addressText = ipAddressText();
const cidr = ipCidr();
const ipv4 = ipv4Address('100.64.0.1');
const prefix4 = ipv4Prefix('100.64.0.0/24');

const PORT_RANGE = /^(\d{1,5})-(\d{1,5})$/;
const PORT_RANGE_EXPECTED = 'expected a port range such as 1024-65535';

/** "1024-65535" -> its first and last port, in whatever order written (validate.ts checks it). */
function parsePortRange(text: string): { first: number; last: number } | undefined {
  const m = PORT_RANGE.exec(text);
  return m ? { first: Number(m[1]), last: Number(m[2]) } : undefined;
}

export const CgnatUplinkSchema = z.strictObject({
  vrf: ifname
    .describe('backend vrf: the uplink VRF holding the uplink interface (the demo\'s "up")')
    .default('up'),
  interface: ifname.describe('The interface towards the provider, e.g. muplink'),
  addresses: z.array(cidr).min(1).describe("The router's addresses on the uplink, IPv4 and IPv6"),
  gateways: z.array(address).prefault([]).describe('Default routes out of the uplink, one per family'),
});

export const NatSchema = z.strictObject({
  pool: z
    .array(z.union([ipv4, prefix4]))
    .min(1)
    .describe(
      'The public IPv4 addresses subscribers are NATed to: addresses or prefixes (every address of it)',
    ),
  ports: z
    .string()
    .regex(PORT_RANGE, { error: PORT_RANGE_EXPECTED })
    .transform(parsedBy(parsePortRange, PORT_RANGE_EXPECTED))
    .prefault('1024-65535')
    .describe('The ports of each public address handed out in blocks'),
  block: count('a block size', 1, 64512)
    .default(2048)
    .describe(
      'Ports per subscriber (RFC 7422 port block): a hard limit on its simultaneous flows to one public address',
    ),
  connections: count('a connection limit', 1, 1_000_000)
    .optional()
    .describe('At most this many tracked connections per subscriber; new ones beyond are dropped'),
  filtering: z
    .enum(['endpoint-independent', 'address-and-port-dependent'])
    .default('endpoint-independent')
    .describe(
      "Who may send to a subscriber's TCP/UDP mapping (RFC 4787 REQ-8, RFC 5382): anyone, once the subscriber has sent from it, with hairpinning between subscribers through the public address (endpoint-independent); or only the host and port it sent to, conntrack's own behaviour (address-and-port-dependent)",
    ),
});

export const ClientSchema = z.strictObject({
  addresses: z
    .array(address)
    .min(1)
    .describe("The client's addresses: its subscriber IPv4, its IPv6, public addresses routed to it"),
});

export const PublicRouteSchema = z.strictObject({
  to: prefix4.describe('A public prefix routed to the client without NAT, e.g. 192.0.2.2/32'),
  client: hostName('client').describe('The client it is delivered to'),
});

export const TenantSchema = z.strictObject({
  bridge: ifname.describe("The tenant's bridge on the router, its clients' segment, e.g. br-blue"),
  gateways: z
    .array(cidr)
    .min(1)
    .describe("The router's addresses on the tenant bridge (the clients' gateways), IPv4 and IPv6"),
  subscribers: z
    .array(prefix4)
    .min(1)
    .describe(
      "The IPv4 addresses NATed to the pool, each with its own port block; they may overlap other tenants'",
    ),
  routes: z.array(PublicRouteSchema).prefault([]).describe('Public prefixes routed, not NATed, to a client'),
  clients: z
    .record(hostName('client'), ClientSchema)
    .prefault({})
    .describe("Hosts on the tenant's segment: the lab builds each one"),
});

export const PeerSchema = z.strictObject({
  name: hostName('peer').default('uplink').describe('The host at the far end of the uplink, in the lab'),
  interface: ifname.default('client1'),
  addresses: z
    .array(cidr)
    .min(1)
    .describe('Its addresses on the uplink link (and its public ones, /32 or /128)'),
});

export const CgnatCheckSchema = z.strictObject({
  name: z.string().min(1).describe('What the check proves, as the report prints it'),
  from: z
    .union([hostName('host'), z.array(hostName('host')).min(2)])
    .describe('The client host; several: the same probe from each at the same moment'),
  to: z
    .union([addressText, z.array(addressText).min(2)])
    .describe('The address dialled or pinged; several for nat: mapping (one source port to each)'),
  proto: z.enum(['ping', 'tcp', 'udp']),
  nat: z
    .enum(['mapping', 'filtering', 'limit'])
    .optional()
    .describe(
      'A NAT behaviour to prove (TCP or UDP). mapping: one source port to every `to` gets one public address and port (endpoint-independent mapping). filtering: after `from` has sent to `to`, `inbound.from` reaches it through its public address and port (expect is about that second leg). limit: `from` opens flows until the per-subscriber limit (nat.connections, else the port block) and one more, which must fail',
    ),
  inbound: z
    .strictObject({
      from: hostName('host').describe(
        'Who sends to the mapping `from` opened: the peer, or a client (hairpinning)',
      ),
      source: addressText.optional().describe('Its source address'),
    })
    .optional()
    .describe('nat: filtering: the second leg, toward the public address and port of the first'),
  port: count('a port', 1, 65535).optional(),
  source: addressText.optional().describe('Bind the client to this address (ping -I)'),
  sourcePort: count('a port', 1, 65535).optional().describe('Bind the client to this port'),
  expect: z
    .strictObject({
      reaches: z.boolean().default(true).describe('false: the probe must get no answer'),
      sees: z
        .union([z.literal('nat'), addressText])
        .optional()
        .describe('The source the server sees: "nat" for the client\'s public address and port block'),
    })
    .default({ reaches: true }),
});

export const CgnatSchema = z.strictObject({
  kind: z.literal('cgnat').describe('This file describes a CGNAT router, not a cluster of nodes'),
  name: specName(/^[a-z][a-z0-9-]{0,30}$/, 'names start with a lowercase letter and use a-z, 0-9, "-"'),
  backend: z
    .enum(['vrf', 'netns'])
    .default('vrf')
    .describe(
      'Tenant isolation: an l3mdev VRF per tenant, or a network namespace per tenant (kernels without VRF)',
    ),
  router: hostName('router').default('router').describe('The CGNAT host'),
  uplink: CgnatUplinkSchema,
  nat: NatSchema,
  tenants: z.record(hostName('tenant'), TenantSchema),
  marks: MarksSchema.optional().describe(
    "Packet and connection marks (a tenant's index, for its replies' routing): the bits convergent uses, and the marks of other software on the router",
  ),
  peer: PeerSchema.optional().describe("The uplink's far side as the lab builds it"),
  checks: z.array(CgnatCheckSchema).optional(),
});

export type CgnatSpec = z.infer<typeof CgnatSchema>;
export type TenantSpec = z.infer<typeof TenantSchema>;
export type CgnatCheckSpec = z.infer<typeof CgnatCheckSchema>;
