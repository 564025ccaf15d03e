// The ganeti examples and variants of them that the spec tests edit, one mistake at a time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES_DIR } from '../examples.ts';

export function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `fixture text not found: ${from}`);
  return text.replace(from, to);
}

export const SEED = readFileSync(join(EXAMPLES_DIR, 'ganeti-seed.yaml'), 'utf8');
export const PROXMOX = readFileSync(join(EXAMPLES_DIR, 'proxmox-vlan.yaml'), 'utf8');
/** The seed with an IPv6 address on vm1's first NIC. */
export const SEED6 = edit(
  SEED,
  'address: 62.217.124.10, firewall',
  'address: 62.217.124.10, address6: "2001:db8:104::10", firewall',
);
/** The seed with a pool of three VLANs on bond0 and two private networks from it. */
export const POOLED = edit(
  edit(SEED, 'nodes:\n  node1', 'vlanPools:\n  prv: { trunk: bond0, base: 400, size: 3 }\n\nnodes:\n  node1'),
  '\nguests:',
  '  tenant1: { mode: private, pool: prv, subnet: 10.0.1.0/24 }\n' +
    '  tenant2: { mode: private, pool: prv, subnet: 10.0.1.0/24 }\n\nguests:',
);
/** A gateway cluster (part 4) with a bridged VLAN beside its gateway network and a guest on it. */
export const MIXED = [
  ['  ports: [eth0]\n', '  ports: [eth0]\n\ninterfaces:\n  eth2: {}\n'],
  [
    '\nguests:',
    '  vlan200: { mode: bridged, trunk: eth2, vlan: 200, subnet: 172.20.0.0/24, gateway: 172.20.0.1 }\n\nguests:',
  ],
  [
    '  guest1: { node: node1,',
    '  web: { node: node1, nics: [{ network: vlan200, mac: "52:54:00:20:00:10", address: 172.20.0.10 }] }\n' +
      '  guest1: { node: node1, network: guestnet,',
  ],
  ['  guest2: { node: node2,', '  guest2: { node: node2, network: guestnet,'],
].reduce(
  (text, [from, to]) => edit(text, from as string, to as string),
  readFileSync(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'utf8'),
);

/** The seed's uplink bridge over its two NICs, without the bond (the networks on eno1). */
export const BRIDGED_NICS = edit(
  edit(
    SEED,
    '  bond0: { mtu: 9000, bond: { mode: active-backup, slaves: [eno1, eno2], primary: eno1 } }\n',
    '',
  ),
  'ports: [bond0]',
  'ports: [eno1, eno2]',
).replaceAll('trunk: bond0', 'trunk: eno1');

export interface Case {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly expected: readonly string[];
}
