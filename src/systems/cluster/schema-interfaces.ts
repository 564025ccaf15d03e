// A node's own interfaces as the spec writes them (seed 003): NICs with their MTU, bonds over NICs,
// VLAN subinterfaces of a NIC or bond, and pools of VLANs for private networks. Shape only; which
// interface may sit on which is checked in validate/interfaces.ts.
import { z } from 'zod';
import { interfaceName, specName, wholeNumber } from '../../input/primitives.ts';

export const ifname = interfaceName(
  'eth1.100',
  /^[A-Za-z0-9_.@-]+$/,
  'interface names use only letters, digits and "_", ".", "-", "@" (no "/", ":" or spaces)',
);

export const BOND_MODES = ['active-backup', '802.3ad'] as const;
export type BondMode = (typeof BOND_MODES)[number];
export const XMIT_HASH_POLICIES = ['layer2', 'layer2+3', 'layer3+4'] as const;
export type XmitHashPolicy = (typeof XMIT_HASH_POLICIES)[number];

export const mtu = wholeNumber({
  expected: 'expected an MTU, a whole number of bytes from 576 to 9216',
  min: [576, 'an MTU is at least 576 bytes'],
  max: [9216, 'an MTU is at most 9216 bytes (jumbo frames are 9000)'],
}).describe('MTU in bytes (1500 is Ethernet, 9000 jumbo frames)');

export const vlanId = wholeNumber({
  expected: 'expected a VLAN id, a whole number from 1 to 4094',
  min: [1, 'VLAN ids start at 1'],
  max: [4094, 'VLAN ids end at 4094'],
}).describe('802.1Q VLAN id (1-4094)');

export const BondSchema = z.strictObject({
  mode: z
    .enum(BOND_MODES, { error: `mode is one of: ${BOND_MODES.join(', ')}` })
    .default('active-backup')
    .describe(
      '"active-backup" (one slave carries the traffic, no switch configuration) or "802.3ad" (LACP: the switch must aggregate the ports too)',
    ),
  slaves: z
    .array(ifname)
    .min(2, { error: 'a bond has at least two slaves; with one NIC, use the NIC itself' })
    .describe('The NICs the bond aggregates, e.g. [eno1, eno2] (ifupdown: bond-slaves)'),
  primary: ifname
    .optional()
    .describe('active-backup: the slave that carries the traffic whenever its link is up'),
  miimon: wholeNumber({
    expected: 'miimon is a number of milliseconds from 1 to 10000',
    min: [1, 'miimon is at least 1 ms (0 would turn link monitoring off, and failover with it)'],
    max: [10000, 'miimon is at most 10000 ms'],
  })
    .default(100)
    .describe("How often (ms) the bond checks its slaves' links: the bound on failover detection"),
  xmitHashPolicy: z
    .enum(XMIT_HASH_POLICIES, { error: `xmitHashPolicy is one of: ${XMIT_HASH_POLICIES.join(', ')}` })
    .optional()
    .describe('802.3ad: how flows are spread over the slaves; layer3+4 when left out'),
});

export const VlanSchema = z.strictObject({
  parent: ifname.describe('The NIC or bond carrying the tagged frames (ifupdown: vlan-raw-device)'),
  id: vlanId,
});

export const InterfaceSchema = z.strictObject({
  mtu: mtu.optional(),
  bond: BondSchema.optional().describe('Makes this interface a bond over its slaves'),
  vlan: VlanSchema.optional().describe(
    'Makes this interface a VLAN subinterface; a name PARENT.ID (bond0.992) says it already',
  ),
});

export const InterfacesSchema = z
  .record(ifname, InterfaceSchema)
  .describe(
    'Interfaces by name: a NIC ({ mtu: 9000 }), a bond ({ bond: { slaves: [eno1, eno2] } }) or a VLAN (bond0.992: {})',
  );

// Synnefo's PHYSICAL_VLAN flavour: pre-provisioned bridge+VLAN pairs, prvN over VLAN base+N.
export const VlanPoolSchema = z.strictObject({
  trunk: ifname.describe("The NIC or bond carrying the pool's VLANs on every node"),
  base: wholeNumber({
    expected: 'base is a VLAN id from 0 to 4093',
    min: [0, 'base is at least 0'],
    max: [4093, 'base is at most 4093'],
  }).describe('Network N of the pool uses VLAN base+N'),
  size: wholeNumber({
    expected: 'size is a number of networks from 1 to 4094',
    min: [1, 'a pool holds at least one network'],
    max: [4094, 'a pool holds at most 4094 networks'],
  }).describe('How many networks the pool holds (N runs from 1 to size)'),
  bridgePrefix: specName(/^[a-z][a-z0-9]{0,9}$/, 'bridgePrefix is a short lowercase word, e.g. prv')
    .default('prv')
    .describe('Network N gets the bridge <bridgePrefix>N, e.g. prv1'),
});

export type InterfaceSpec = z.output<typeof InterfaceSchema>;
export type BondSpec = z.output<typeof BondSchema>;
export type VlanPoolSpec = z.output<typeof VlanPoolSchema>;
