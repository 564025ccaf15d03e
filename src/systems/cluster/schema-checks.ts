// A cluster's lab checks as the user writes them: a real client against real servers (or a ping, an
// ARP request, a multicast datagram), and what must come back. Shape only; which host may run what
// is checked in checks.ts.
import { z } from 'zod';
import { macAddress, specName, wholeNumber } from '../../input/primitives.ts';
import { ifname } from './schema-interfaces.ts';

/**
 * What a lab check sends: a real client against a real server, a ping, an ARP request; a datagram to
 * a multicast group or the broadcast address of a network (who receives it); an ARP announcement of
 * another host's address (does a peer's neighbour table take it).
 */
export const CHECK_PROTOS = [
  'http',
  'tcp',
  'udp',
  'ping',
  'arp',
  'multicast',
  'broadcast',
  'garp',
  'vrrp',
] as const;
export type CheckProto = (typeof CHECK_PROTOS)[number];

/** The address family a ping, tcp or udp check uses. */
export const CHECK_FAMILIES = ['ipv4', 'ipv6'] as const;

const port = wholeNumber({
  expected: 'expected a port number (1-65535)',
  min: [1, 'ports start at 1'],
  max: [65535, 'ports end at 65535'],
});

// Hosts a check names: "workstation" (the lab's client beyond the upstream router), a node, a guest
// (its NIC 0) or one NIC of a guest ("vm2:1"), "gateway" (the guest's anycast gateway), a network
// (multicast and broadcast), a literal IPv4 address, or a node by its relation to a guest, so that
// the check still holds after the guest migrates: "host" (the node hosting the check's guest),
// "foreign" (a node that does not host it), or with the guest named, "host of guest1".
const NAME = '[a-z][a-z0-9-]{0,30}';
const RELATIVE_NODE = `(host|foreign) of ${NAME}`;
const EXPECTED_HOST =
  'expected a host: workstation, a node or guest name, a guest\'s NIC ("vm2:1"), "gateway", "host", "foreign", or an IPv4 address';
const hostRef = z
  .string({ error: EXPECTED_HOST })
  .regex(new RegExp(`^(${NAME}(:\\d{1,2})?|\\d+\\.\\d+\\.\\d+\\.\\d+|${RELATIVE_NODE})$`), {
    error: EXPECTED_HOST,
  });
const EXPECTED_NODE = 'expected a node: its name, "host", "foreign", or "host of GUEST"';
const nodeRef = z
  .string({ error: EXPECTED_NODE })
  .regex(new RegExp(`^(${NAME}|${RELATIVE_NODE})$`), { error: EXPECTED_NODE });
const nodeName = specName(new RegExp(`^${NAME}$`), 'expected a node name').describe('node name');

export const CutSchema = z.strictObject({
  node: nodeName.describe('The node whose link is cut'),
  link: ifname.describe(
    "The node's NIC (a bond's slave) whose switch port goes down while the check runs, and comes back",
  ),
});

export const CheckSchema = z.strictObject({
  name: z.string().min(1).max(80).optional().describe('What the check proves, shown in the report'),
  from: hostRef
    .default('workstation')
    .describe(
      'The client: "workstation" (default), a guest or one of its NICs ("vm1:1"); a node for multicast and broadcast; ' +
        '"gateway" toward a guest on a routed network: its router sends (the upstream router, or the router node)',
    ),
  to: hostRef.describe(
    'Where the client sends: a node (its public address), a guest or its NIC ("vm2:1"), "workstation", "gateway" or an address; ' +
      'a network for multicast and broadcast; "host" is the node hosting the check\'s guest (the client, else the one answering), "foreign" the first ' +
      'other node that can take the check, "host of guest1" names the guest',
  ),
  proto: z
    .enum(CHECK_PROTOS, { error: `proto is one of: ${CHECK_PROTOS.join(', ')}` })
    .describe(
      'http (curl), tcp (banner), udp (request/response), ping, arp (who answers), multicast and broadcast (who receives a datagram sent on the network), garp (the client announces the address of "source": does the peer "to" take it), vrrp (an HA pair\'s advertisement: IP protocol 112 to 224.0.0.18 from node "from" on the uplink, received by node "to")',
    ),
  port: port.optional().describe('The port the client dials (http, tcp, udp)'),
  family: z
    .enum(CHECK_FAMILIES, { error: `family is one of: ${CHECK_FAMILIES.join(', ')}` })
    .default('ipv4')
    .describe(
      'ping, tcp, udp (and arp on a routed network: a neighbour solicitation): "ipv4" (default) or "ipv6": hosts are dialled at their IPv6 address (a guest\'s address6, "gateway" its network\'s gateway6, the workstation its lab IPv6 address)',
    ),
  source: hostRef
    .optional()
    .describe(
      'tcp, udp: the client adds this address to its NIC and sends from it (spoofing); garp: the address it announces (a guest or its NIC, or an address)',
    ),
  mac: macAddress()
    .optional()
    .describe("The client's NIC takes this MAC before it sends (and its own again after)"),
  size: wholeNumber({
    expected: 'size is a number of bytes from 0 to 65507',
    min: [0, 'size is at least 0'],
    max: [65507, 'size is at most 65507 (an IPv4 datagram)'],
  })
    .optional()
    .describe(
      'ping: the payload size, sent with "don\'t fragment" (ping -M do -s SIZE): 8972 fills an MTU of 9000',
    ),
  cut: CutSchema.optional().describe(
    "Bond failover (VM lab): the switch side of this node's link goes down while a ping or TCP stream runs; the report gives the failover time and lost probes",
  ),
  expect: z
    .strictObject({
      answers: z
        .union([hostRef, z.array(hostRef)])
        .optional()
        .describe(
          'Who must answer: a guest, "workstation", or for arp the node whose MAC answers (e.g. "host": on a routed network, the tap MAC toward a guest, its uplink device\'s MAC toward the gateway); for multicast and broadcast, the list of guests that receive it (and no other)',
        ),
      sees: hostRef
        .optional()
        .describe(
          'The source address the server must see: a host (its address on the server\'s segment, e.g. "host") or an address',
        ),
      leaves: nodeRef
        .optional()
        .describe(
          'The node through which traffic toward the workstation must leave the cluster: a node, "host" or "foreign"',
        ),
      via: nodeRef
        .optional()
        .describe(
          'ping, tcp, udp: the only node that forwards the check\'s packets (its IpForwDatagrams grows while the check runs, no other node\'s does): "host" after a migration fails when traffic still passes the old node',
        ),
      through: z
        .string({ error: 'expected an appliance guest or "none"' })
        .regex(new RegExp(`^${NAME}$`), { error: 'expected an appliance guest or "none"' })
        .optional()
        .describe(
          'The appliance a network inserts that the flow passes in both directions (its forward counters for original and reply packets rise while the check runs), or "none": no appliance forwards any of it',
        ),
      ttl: wholeNumber({
        expected: 'ttl is a number from 1 to 255',
        min: [1, 'ttl is at least 1'],
        max: [255, 'ttl is at most 255'],
      })
        .optional()
        .describe(
          'ping: the TTL of the echo reply as the client sees it (each router on the way back takes one: an inserted appliance and the second pass through the router take two)',
        ),
      blocked: z
        .boolean()
        .optional()
        .describe(
          'true: the client sends and nothing answers (a negative check); a client that could not send fails it',
        ),
    })
    .default({}),
});

export type CheckSpec = z.output<typeof CheckSchema>;
