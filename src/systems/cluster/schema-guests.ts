// A guest's NICs (Ganeti's, seed 003): each on a network, with its MAC, IPv4 and IPv6 address, the
// firewall profile toward it (gnt-networking's protected/limited/unprotected) and whether its
// sources are checked (anti-spoofing, gnt-networking's IPSPOOF to turn it off).
import { z } from 'zod';
import { ipv4Address, ipv6Address, macAddress, specName } from '../../input/primitives.ts';

export const FIREWALL_PROFILES = ['protected', 'limited', 'unprotected'] as const;
export type FirewallProfile = (typeof FIREWALL_PROFILES)[number];
export const SPOOF_POLICIES = ['drop', 'allow'] as const;
export type SpoofPolicy = (typeof SPOOF_POLICIES)[number];

const networkName = specName(
  /^[a-z][a-z0-9-]{0,30}$/,
  'network names start with a lowercase letter and use only a-z, 0-9 and "-" (at most 31 characters)',
).describe('network name');

export const NicSchema = z.strictObject({
  network: networkName
    .optional()
    .describe(
      "The NIC's network; may be left out when there is only one. Forwards and proxies reach a guest whose NIC 0 is on a gateway network",
    ),
  mac: macAddress()
    .optional()
    .describe(
      "The NIC's MAC address, as the hypervisor gives it to the guest (required on bridged and private networks)",
    ),
  address: ipv4Address('10.5.5.201')
    .optional()
    .describe(
      "The NIC's IPv4 address, inside its network's subnet (NIC 0 needs one); without one, no IPv4 source passes its port",
    ),
  address6: ipv6Address('2001:db8:104::10')
    .optional()
    .describe("The NIC's IPv6 address; its link-local address (EUI-64 of the MAC) passes as well"),
  floating: ipv4Address('192.168.122.60')
    .optional()
    .describe(
      "A public address of the NIC's own on the uplink (a floating IP): 1:1 NAT both ways on its network's router node",
    ),
  firewall: z
    .enum(FIREWALL_PROFILES, { error: `firewall is one of: ${FIREWALL_PROFILES.join(', ')}` })
    .default('unprotected')
    .describe(
      'Traffic toward the guest: "protected" accepts TCP without SYN, UDP from port 53 and ICMP; "limited" also new TCP to 22 and 3389; "unprotected" everything',
    ),
  spoof: z
    .enum(SPOOF_POLICIES, { error: `spoof is one of: ${SPOOF_POLICIES.join(', ')}` })
    .default('drop')
    .describe(
      '"drop" (default): frames from another MAC or address are dropped at the port; "allow" for appliances that route or fail over addresses',
    ),
});

export type NicSpec = z.output<typeof NicSchema>;
