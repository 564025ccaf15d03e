// Routed networks on a node, rootless: what every node gets for its routed networks (links, policy
// rules, tables, sysctls, the arp and routed nft tables), rules that do not grow with the guests, and
// the elements `nic up` adds for a routed NIC.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { routeCommand } from '../../src/host/routing.ts';
import { renderRule } from '../../src/nft/render.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { elementLine, routedGuard } from '../../src/systems/cluster/features/routed/elements.ts';
import { clusterKind } from '../../src/systems/cluster/kind.ts';
import type { Cluster, RoutedNetwork } from '../../src/systems/cluster/model.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
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

const plans = compileCluster(flat);
const planOf = (node: string) => plans.find((p) => p.node === node) as HostPlan;
const fileOf = (plan: HostPlan, path: string) => {
  const file = renderNode(plan).find((f) => f.path === path);
  assert.ok(file, path);
  return textOf(file);
};
const ruleText = (plan: HostPlan) =>
  plan.rules.map((r) => `-${r.family} ${r.pref} ${r.match.kind} ${r.match.value} ${r.table}`);

describe('routed networks on a node: links, tables, rules, routes', () => {
  test('a VM host: iif and from rules into each table, the router node of the other network: to only', () => {
    assert.deepEqual(ruleText(planOf('node2')), [
      '-4 1000 iif eth1 500',
      '-4 1001 from 192.0.2.0/24 500',
      '-6 1000 iif eth1 500',
      '-6 1001 from 2001:db8::/64 500',
      '-4 1010 iif eth2 100',
      '-4 1011 from 10.50.0.0/24 100',
    ]);
    // node1 routes internal: its table has no default, so only traffic for the guests goes there.
    assert.deepEqual(ruleText(planOf('node1')).slice(4), ['-4 1012 to 10.50.0.0/24 100']);
    assert.deepEqual(
      planOf('node1').tables.map((t) => `${t.id} ${t.name}`),
      ['500 public', '100 internal'],
    );
  });

  test('the tables: subnet, default via the gateway (not on the router), unreachable default under all', () => {
    const routes = (plan: HostPlan, table: number) =>
      plan.routes.filter((r) => r.table === table).map((r) => routeCommand(r));
    assert.deepEqual(routes(planOf('node2'), 100), [
      'ip route replace 10.50.0.0/24 dev eth2 table 100',
      'ip route replace default via 10.50.0.1 dev eth2 table 100',
      'ip route replace unreachable default metric 4294967295 table 100',
    ]);
    assert.deepEqual(routes(planOf('node1'), 100), [
      'ip route replace 10.50.0.0/24 dev eth2 table 100',
      'ip route replace unreachable default metric 4294967295 table 100',
    ]);
    assert.deepEqual(routes(planOf('node1'), 500).slice(3), [
      'ip -6 route replace 2001:db8::/64 dev eth1 table 500',
      'ip -6 route replace default via 2001:db8::1 dev eth1 table 500',
      'ip -6 route replace unreachable default metric 4294967295 table 500',
    ]);
    const main = (plan: HostPlan) => plan.routes.filter((r) => r.table === undefined).map((r) => r.to);
    assert.deepEqual(main(planOf('node2')), ['default', '192.0.2.0/24', '10.50.0.0/24']);
    assert.deepEqual(
      main(planOf('node1')),
      ['default', '192.0.2.0/24'],
      "the router's address gives it the subnet",
    );
  });

  test('no bridge, no node address, but the router node holds the gateway on its uplink', () => {
    for (const plan of plans)
      assert.deepEqual(
        plan.bridges.map((b) => b.name),
        ['br0'],
      );
    const on = (plan: HostPlan, dev: string) =>
      plan.addresses.filter((a) => a.dev === dev).map((a) => a.cidr);
    assert.deepEqual(on(planOf('node1'), 'eth2'), ['10.50.0.1/24']);
    assert.deepEqual(on(planOf('node2'), 'eth2'), []);
    assert.deepEqual(on(planOf('node1'), 'eth1'), []);
  });

  test('sysctls: forwarding, proxy ARP and NDP on the uplink, answered at once', () => {
    const sysctl = fileOf(planOf('node2'), FILES.sysctl);
    for (const line of [
      'net.ipv4.ip_forward = 1',
      'net.ipv6.conf.all.forwarding = 1',
      'net.ipv4.conf.eth1.proxy_arp = 1',
      'net.ipv4.neigh.eth1.proxy_delay = 0',
      'net.ipv6.conf.eth1.proxy_ndp = 1',
      'net.ipv4.conf.eth2.proxy_arp = 1',
      'net.ipv6.conf.eth2.disable_ipv6 = 1',
    ])
      assert.ok(sysctl.includes(`\n${line}\n`), line);
    assert.doesNotMatch(sysctl, /eth2\.proxy_ndp/, 'no subnet6 on internal: no proxy NDP');
  });

  test('the router masquerades its subnet out of its uplink bridge, in the NAT table it has', () => {
    const nat = (plan: HostPlan) =>
      plan.ruleset.tables
        .find((t) => t.family === 'ip' && t.name === 'convergent')
        ?.chains.find((c) => c.name === 'nat-postrouting')
        ?.rules.map((r) => renderRule(r));
    assert.deepEqual(nat(planOf('node1')), [
      'oifname "br0" ip saddr 10.50.0.0/24 counter snat ip to 192.168.122.11 comment "networks.internal: the routed subnet leaves as its router node1"',
    ]);
    assert.equal(nat(planOf('node2')), undefined, 'a VM host NATs nothing');
  });

  test('a tagged network gets its VLAN on the trunk, with the MTU, as bridged networks do', () => {
    const gnt = resolved(readFileSync('examples/gnt-routed.yaml', 'utf8'));
    const plan = compileCluster(gnt).find((p) => p.node === 'node3') as HostPlan;
    assert.deepEqual(
      plan.links.filter((l) => l.kind === 'vlan'),
      [
        {
          kind: 'vlan',
          name: 'eth0.500',
          parent: 'eth0',
          id: 500,
          source: 'networks.snf-public (routed: VLAN 500 on eth0, no bridge)',
        },
      ],
    );
    assert.deepEqual(
      plan.addresses.filter((a) => a.dev === 'eth0.500').map((a) => a.cidr),
      ['192.0.2.1/24', '2001:db8::1/64'],
    );
    const ifupdown = fileOf(plan, FILES.interfaces);
    assert.match(ifupdown, /iface eth0\.500 inet static\n(.*\n)*? {4}address 192\.0\.2\.1\/24\n/);
    assert.match(ifupdown, /iface eth0\.500 inet6 static\n {4}address 2001:db8::1\/64\n/);
    assert.match(ifupdown, / {4}post-up sysctl -q -w net\/ipv4\/conf\/eth0\.500\/proxy_arp=1\n/);
    assert.match(ifupdown, / {4}post-up ip route replace unreachable default metric 4294967295 table 500\n/);
  });

  test('network.sh names the tables, rt_tables.d/convergent.conf gives them their names', () => {
    const script = fileOf(planOf('node1'), FILES.networkScript);
    assert.match(script, /^# Routing tables .*: 500 public, 100 internal$/m);
    assert.match(
      script,
      /^while ip -4 rule del pref 1000 2>\/dev\/null; do :; done; ip -4 rule add pref 1000 iif eth1 lookup 500$/m,
    );
    const tables = fileOf(planOf('node1'), FILES.rtTables);
    assert.deepEqual(
      tables.split('\n').filter((l) => /^\d/.test(l)),
      ['500 public', '100 internal'],
    );
  });
});
