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
import { ARP_SOURCE, ARP_TABLE, ROUTED_TABLE } from '../../src/systems/cluster/features/routed/names.ts';
import type { Cluster, RoutedNetwork } from '../../src/systems/cluster/model.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { clusterSystem } from '../../src/systems/cluster/system.ts';
import { clusterFromText } from '../support/spec.ts';

/** A spec read as `convergent check` reads it. */
const resolved = (text: string): Cluster => clusterFromText(text);

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
  test('a VM host: iif, from and to rules into each table, the router node of the other network: to only', () => {
    assert.deepEqual(ruleText(planOf('node2')), [
      '-4 1000 iif eth1 500',
      '-4 1001 from 192.0.2.0/24 500',
      '-4 1002 to 192.0.2.0/24 500',
      '-6 1000 iif eth1 500',
      '-6 1001 from 2001:db8::/64 500',
      '-6 1002 to 2001:db8::/64 500',
      '-4 1010 iif eth2 100',
      '-4 1011 from 10.50.0.0/24 100',
      '-4 1012 to 10.50.0.0/24 100',
    ]);
    // node1 routes internal: its table has no default, so only traffic for the guests goes there.
    assert.deepEqual(ruleText(planOf('node1')).slice(6), ['-4 1012 to 10.50.0.0/24 100']);
    assert.deepEqual(
      planOf('node1').tables.map((t) => `${t.id} ${t.name}`),
      ['500 public', '100 internal'],
    );
  });

  test('the tables: subnet, default via the gateway (not on the router), unreachable default under all', () => {
    const routes = (plan: HostPlan, table: number) =>
      plan.routes.filter((r) => r.table === table).map((r) => routeCommand(r));
    assert.deepEqual(routes(planOf('node2'), 100), [
      'ip route replace 10.50.0.0/24 dev eth2 table 100 proto 241',
      'ip route replace default via 10.50.0.1 dev eth2 table 100 proto 241',
      'ip route replace unreachable default metric 4294967295 table 100 proto 241',
    ]);
    assert.deepEqual(routes(planOf('node1'), 100), [
      'ip route replace 10.50.0.0/24 dev eth2 table 100 proto 241',
      'ip route replace unreachable default metric 4294967295 table 100 proto 241',
    ]);
    assert.deepEqual(routes(planOf('node1'), 500).slice(3), [
      'ip -6 route replace 2001:db8::/64 dev eth1 table 500 proto 241',
      'ip -6 route replace default via 2001:db8::1 dev eth1 table 500 proto 241',
      'ip -6 route replace unreachable default metric 4294967295 table 500 proto 241',
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

  test('a tagged network gets its VLAN on the trunk as bridged networks do, loosely bound', () => {
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
          looseBinding: true,
          source: 'networks.snf-public (routed: VLAN 500 on eth0, no bridge, loose binding)',
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
    assert.match(ifupdown, / {4}post-up ip link set dev eth0\.500 type vlan loose_binding on\n/);
    assert.match(fileOf(plan, FILES.networkScript), /type vlan id 500 loose_binding on\n/);
    assert.match(
      ifupdown,
      / {4}post-up ip route replace unreachable default metric 4294967295 table 500 proto 241\n/,
    );
  });

  test('network.sh names the tables, rt_tables.d/convergent.conf gives them their names', () => {
    const script = fileOf(planOf('node1'), FILES.networkScript);
    assert.match(script, /^# Routing tables .*: 500 public, 100 internal$/m);
    assert.match(
      script,
      /^while ip -4 rule del pref 1000 2>\/dev\/null; do :; done; ip -4 rule add pref 1000 iif eth1 lookup 500 protocol 241$/m,
    );
    const tables = fileOf(planOf('node1'), FILES.rtTables);
    assert.deepEqual(
      tables.split('\n').filter((l) => /^\d/.test(l)),
      ['500 public', '100 internal'],
    );
  });
});

/** A routed network with n guests on two nodes, each with an address and a profile. */
function many(n: number): Cluster {
  const guests = Array.from({ length: n }, (_, i) => {
    const mac = `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const address = `100.64.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    const firewall = ['protected', 'limited', 'unprotected'][i % 3];
    return `  g${i}: { node: n${(i % 2) + 1}, nics: [{ mac: "${mac}", address: ${address}, firewall: ${firewall} }] }\n`;
  });
  return resolved(`name: many${n}
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }
interfaces: { eth1: {} }
nodes: { n1: { address: 192.168.122.21 }, n2: { address: 192.168.122.22 } }
networks:
  public: { mode: routed, trunk: eth1, vlan: 993, subnet: 100.64.0.0/16, gateway: 100.64.0.1, subnet6: "2001:db8::/64", gateway6: "2001:db8::1" }
guests:
${guests.join('')}`);
}

const tableOf = (plan: HostPlan, family: string, name: string) =>
  plan.ruleset.tables.find((t) => t.family === family && t.name === name);
const ruleCount = (plan: HostPlan) =>
  plan.ruleset.tables.reduce((sum, t) => sum + t.chains.reduce((s, c) => s + c.rules.length, 0), 0);

describe('routed nft tables: arp sources, anti-spoofing and profiles', () => {
  test('the ARP source of each uplink, but the router node keeps its own gateway on its uplink', () => {
    const arpSources = (plan: HostPlan) =>
      tableOf(plan, 'arp', ARP_TABLE)
        ?.sets.find((s) => s.name === ARP_SOURCE)
        ?.elements.map((e) => `${e.key[0]?.value} : ${e.value?.[0]?.value}`);
    assert.deepEqual(arpSources(planOf('node2')), ['eth1 : 192.0.2.254', 'eth2 : 10.50.0.254']);
    assert.deepEqual(arpSources(planOf('node1')), ['eth1 : 192.0.2.254']);
    const arp = tableOf(planOf('node1'), 'arp', ARP_TABLE);
    assert.deepEqual(
      arp?.chains.flatMap((c) => c.rules.map(renderRule)),
      [
        'arp operation request arp saddr ip set oifname map @arp_source comment "the sender address the interface is given"',
      ],
    );
  });

  test('rules do not grow with the guests: the same ruleset for 10 and 10,000 (elements come from nic up)', () => {
    const small = compileCluster(many(10));
    const large = compileCluster(many(10_000));
    for (const [i, plan] of large.entries()) {
      assert.equal(ruleCount(plan), ruleCount(small[i] as HostPlan));
      const routed = tableOf(plan, 'inet', ROUTED_TABLE);
      assert.ok(routed);
      assert.deepEqual(
        routed.sets.map((s) => [s.name, s.elements.length]),
        [
          ['plugged', 0],
          ['tap_ipv4', 0],
          ['tap_ipv6', 0],
          ['from_guest', 0],
          ['to_profile', 0],
        ],
      );
      const same = tableOf(small[i] as HostPlan, 'inet', ROUTED_TABLE);
      assert.deepEqual([routed.sets, routed.chains], [same?.sets, same?.chains]);
    }
  });

  test('anti-spoofing at prerouting before conntrack, profiles at forward, statefully', () => {
    const routed = tableOf(planOf('node2'), 'inet', ROUTED_TABLE);
    const chain = (name: string) => routed?.chains.find((c) => c.name === name);
    assert.deepEqual(chain('from_guest_hook')?.base, {
      type: 'filter',
      hook: 'prerouting',
      priority: -300,
      policy: 'accept',
    });
    assert.deepEqual(chain('to_guest_forward')?.base?.hook, 'forward');
    assert.deepEqual(
      chain('protected')?.rules.map(renderRule)[0],
      'ct state established,related accept comment "replies of the guest\'s own connections"',
    );
    const spoof = chain('antispoof')?.rules.map(renderRule) ?? [];
    assert.ok(spoof.some((r) => r.startsWith('icmpv6 type { nd-router-advert, nd-redirect } counter drop')));
    assert.ok(spoof.some((r) => r.startsWith('ip6 saddr :: icmpv6 type { nd-neighbor-solicit')));
    assert.match(spoof.at(-1) ?? '', /^counter drop /);
  });

  test('the nftables.conf header names every table it replaces; no bridge ports table where no NIC is bridged', () => {
    const file = fileOf(planOf('node1'), FILES.nftables);
    assert.match(
      file,
      /^# Owns only the tables named "convergent", "convergent_arp" and "convergent_routed";/m,
    );
    assert.doesNotMatch(file, /table bridge convergent_ports/);
  });

  test('fault no-arp-source: the arp table is left out, and the plan says so', () => {
    const [plan] = compileCluster(flat, { faults: ['no-arp-source'] });
    assert.ok(plan);
    assert.equal(tableOf(plan, 'arp', ARP_TABLE), undefined);
    assert.ok(tableOf(plan, 'inet', ROUTED_TABLE));
    assert.match(fileOf(plan, FILES.nftables), /^# FAULT INJECTED .*: no-arp-source: /m);
  });
});

describe('routed faults', () => {
  test('no-arp-source applies to a spec with a routed network only', () => {
    assert.ok(clusterSystem.faults(flat).includes('no-arp-source'));
    const bridgedOnly = resolved(`name: b
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }
interfaces: { eth1: {} }
nodes: { n1: { address: 192.168.122.21 } }
networks:
  lan: { mode: bridged, trunk: eth1, subnet: 172.20.0.0/16, gateway: 172.20.0.1 }
guests:
  web: { node: n1, nics: [{ mac: "52:54:00:20:00:10", address: 172.20.0.10 }] }
`);
    assert.ok(!clusterSystem.faults(bridgedOnly).includes('no-arp-source'));
  });
});
