// Routed networks on a node, rootless: what every node gets for its routed networks (links, policy
// rules, tables, sysctls, the arp and routed nft tables), rules that do not grow with the guests, and
// the elements `nic up` adds for a routed NIC.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { elementLine, routedGuard } from '../../src/systems/cluster/features/routed/elements.ts';
import { clusterKind } from '../../src/systems/cluster/kind.ts';
import type { Cluster, RoutedNetwork } from '../../src/systems/cluster/model.ts';
import { resolve } from '../../src/systems/cluster/resolve.ts';
import { parseSpecTextOf } from '../../src/systems/kinds.ts';

/** A spec resolved without validation (validation of routed networks comes separately). */
function resolved(text: string): Cluster {
  return resolve(parseSpecTextOf(text, 'cluster.yaml', clusterKind).spec);
}

const flat = resolved(readFileSync('examples/routed-flat.yaml', 'utf8'));
const network = (name: string) => flat.routed.find((n) => n.name === name) as RoutedNetwork;
const nicOf = (guest: string, index: number) => {
  const nic = flat.guests.find((g) => g.name === guest)?.nics[index];
  assert.ok(nic, `${guest}:${index}`);
  return nic;
};

describe('routed NIC elements (nic up)', () => {
  test('vm1:0 on public: arp source, plugged, its addresses, anti-spoofing and its profile', () => {
    const guard = routedGuard(nicOf('vm1', 0), network('public'), 'tap5');
    assert.deepEqual(
      guard.elements.map((e) => elementLine('add', e)),
      [
        'add element arp convergent_arp arp_source { "tap5" : 192.0.2.1 }',
        'add element inet convergent_routed plugged { "tap5" }',
        'add element inet convergent_routed tap_ipv4 { "tap5" . 192.0.2.10 }',
        'add element inet convergent_routed tap_ipv6 { "tap5" . 2001:db8::5054:ff:fe00:101 }',
        'add element inet convergent_routed tap_ipv6 { "tap5" . fe80::5054:ff:fe00:101 }',
        'add element inet convergent_routed from_guest { "tap5" : jump antispoof }',
        'add element inet convergent_routed to_profile { "tap5" : jump protected }',
      ],
    );
    assert.equal(guard.antispoof, '192.0.2.10 2001:db8::5054:ff:fe00:101');
    assert.equal(guard.profile, 'protected');
    assert.equal(
      elementLine('delete', guard.elements[5] as never),
      'delete element inet convergent_routed from_guest { "tap5" }',
    );
  });

  test('vm1:1 on internal (no subnet6, unprotected): no IPv6 address but the link-local, no profile', () => {
    const guard = routedGuard(nicOf('vm1', 1), network('internal'), 'tap6');
    assert.deepEqual(
      guard.elements.map((e) => elementLine('add', e)),
      [
        'add element arp convergent_arp arp_source { "tap6" : 10.50.0.1 }',
        'add element inet convergent_routed plugged { "tap6" }',
        'add element inet convergent_routed tap_ipv4 { "tap6" . 10.50.0.10 }',
        'add element inet convergent_routed tap_ipv6 { "tap6" . fe80::5054:ff:fe00:102 }',
        'add element inet convergent_routed from_guest { "tap6" : jump antispoof }',
      ],
    );
    assert.equal(guard.profile, undefined);
  });

  test('spoof: allow checks nothing: no addresses, no anti-spoofing jump', () => {
    const nic = { ...nicOf('vm2', 0), spoof: 'allow' as const, firewall: 'limited' as const };
    const guard = routedGuard(nic, network('public'), 'tap7');
    assert.deepEqual(
      guard.elements.map((e) => e.set),
      ['arp_source', 'plugged', 'to_profile'],
    );
    assert.equal(guard.antispoof, undefined);
    assert.equal(guard.elements.at(-1)?.jump, 'limited');
  });
});
