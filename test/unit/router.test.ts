// Seed 004's router node (features/router): what node1 (the router) and node2 (bridging only) get,
// that nothing of it reaches a cluster without routers, and that the strategies keep out of a
// router's networks when a cluster mixes them with anycast networks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { HostPlan } from '../../src/host/plan.ts';
import { ruleCommand } from '../../src/host/routing.ts';
import type { NamedSet } from '../../src/nft/tree.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { clusterExamples } from '../support/examples.ts';
import { edit } from '../support/ganeti/fixtures.ts';
import { chain, plansOf, rulesOf, SEED004, set } from '../support/router.ts';
import { clusterFromText } from '../support/spec.ts';

const node = (plans: HostPlan[], name: string) => plans.find((p) => p.node === name) as HostPlan;
const keys = (s: NamedSet | undefined) =>
  (s?.elements ?? []).map((e) => e.key.map((k) => k.value).join(' . '));
const ROUTER_OBJECTS = ['router-dnat', 'insert-notrack', 'insert-mark'];
const ROUTER_SETS = ['floating', 'floating_to_guest', 'guest_to_floating', 'router_snat', 'router_forwards'];

describe('seed004-insert: the router node', () => {
  const plans = plansOf(SEED004);
  const [node1, node2] = [node(plans, 'node1'), node(plans, 'node2')];

  test('the addresses on the router node only; the other node just bridges (no address on any of its bridges)', () => {
    const on = (p: HostPlan, dev: string) => p.addresses.filter((a) => a.dev === dev).map((a) => a.cidr);
    assert.deepEqual(on(node1, 'qbr-vm'), ['10.7.0.251/24', '10.7.0.1/24']);
    for (const dev of ['qbr-vm', 'qbr-fw', 'qbr-mgmt']) assert.deepEqual(on(node2, dev), [], dev);
    assert.ok(node2.bridges.some((b) => b.name === 'qbr-vm' && b.ports.includes('eth1.100')));
  });

  test("the other node reaches the router's networks through the router, over the uplink (not the transit one)", () => {
    const routes = (p: HostPlan) =>
      p.routes.filter((r) => r.to !== 'default').map((r) => `${r.to} via ${r.via} dev ${r.dev}`);
    assert.deepEqual(routes(node2), [
      '10.7.0.0/24 via 192.168.122.11 dev xenbr0',
      '10.7.254.0/24 via 192.168.122.11 dev xenbr0',
    ]);
    assert.deepEqual(routes(node1), []);
  });

  test("the SNAT address and the floating IPs as /32 on the router's uplink bridge, none on the other node", () => {
    const up = (p: HostPlan) => p.addresses.filter((a) => a.dev === 'xenbr0').map((a) => a.cidr);
    assert.deepEqual(up(node1), [
      '192.168.122.11/24',
      '192.168.122.50/32',
      '192.168.122.60/32',
      '192.168.122.61/32',
    ]);
    assert.deepEqual(up(node2), ['192.168.122.12/24']);
  });

  test('NAT by maps: one rule for every floating IP, one for the subnets, the forward as plain DNAT', () => {
    assert.deepEqual(rulesOf(node1, 'router-dnat'), [
      'ip daddr @floating counter dnat ip to ip daddr map @floating_to_guest comment "guests.*.floating: to the NIC, 1:1"',
      'ip daddr 192.168.122.11 counter dnat ip to meta l4proto . th dport map @router_forwards comment "forwards on node1\'s public address to guests it routes (plain DNAT)"',
    ]);
    assert.deepEqual(rulesOf(node1, 'nat-postrouting'), [
      'oifname "xenbr0" ip saddr @floating_nics counter snat ip to ip saddr map @guest_to_floating comment "guests.*.floating: a NIC with a floating IP leaves as it"',
      'ct status dnat ip saddr @router_subnets counter snat ip to oifname map @router_hairpin comment "floating IPs and forwards dialled from node1\'s networks: replies back through it"',
      'oifname "xenbr0" ip saddr @router_subnets counter snat ip to ip saddr map @router_snat comment "networks.*.snat: the router node1\'s subnets leave as its external address"',
    ]);
    assert.deepEqual(keys(set(node1, 'floating_to_guest')), ['192.168.122.60', '192.168.122.61']);
    assert.deepEqual(
      set(node1, 'router_snat')?.elements.map((e) => `${e.key[0]?.value} -> ${e.value?.[0]?.value}`),
      ['10.7.0.0/24 -> 192.168.122.50', '10.7.255.0/29 -> 192.168.122.11', '10.7.254.0/24 -> 192.168.122.11'],
    );
    assert.deepEqual(keys(set(node1, 'router_forwards')), ['tcp . 2211']);
  });

  test("a floating IP dialled from inside: DNAT from any interface, SNAT to the router's address on the way back", () => {
    assert.deepEqual(
      set(node1, 'router_hairpin')?.elements.map((e) => `${e.key[0]?.value} -> ${e.value?.[0]?.value}`),
      ['qbr-vm -> 10.7.0.1', 'qbr-fw -> 10.7.255.1', 'qbr-mgmt -> 10.7.254.1'],
    );
  });

  test('no strategy touches the routered networks: no full-NAT, no ARP guard, no guest_subnets rule', () => {
    for (const p of plans) {
      assert.equal(chain(p, 'fullnat-dnat'), undefined, p.node);
      assert.equal(chain(p, 'pipe-egress'), undefined, p.node);
      assert.equal(set(p, 'guest_subnets'), undefined, p.node);
    }
  });

  test('the other node has nothing of the router: no NAT, no rules, no table', () => {
    for (const name of [...ROUTER_OBJECTS, ...ROUTER_SETS]) {
      assert.equal(chain(node2, name), undefined, name);
      assert.equal(set(node2, name), undefined, name);
    }
    assert.deepEqual(node2.rules, []);
    assert.deepEqual(node2.tables, []);
    assert.deepEqual(rulesOf(node2, 'nat-postrouting'), []);
  });

  test('steering: table 100 via the appliance (fail closed under it), exclusions first, egress, ingress', () => {
    assert.deepEqual(
      node1.tables.map((t) => `${t.id} ${t.name}`),
      ['100 tenant-insert'],
    );
    assert.deepEqual(
      node1.routes
        .filter((r) => r.table === 100)
        .map((r) => `${r.type ?? ''} ${r.to} ${r.via ?? ''} ${r.dev ?? ''}`),
      [' default 10.7.255.2 qbr-fw', 'unreachable default  '],
    );
    assert.deepEqual(
      node1.rules.map((r) => ruleCommand(r).replace(/^.*; ip/, 'ip')),
      [
        'ip -4 rule add pref 2000 iif qbr-vm to 10.7.0.0/24 lookup main protocol 241',
        'ip -4 rule add pref 2001 iif qbr-vm to 10.7.254.0/24 lookup main protocol 241',
        'ip -4 rule add pref 2008 iif qbr-vm lookup 100 protocol 241',
        'ip -4 rule add pref 2009 iif xenbr0 to 10.7.0.0/24 lookup 100 protocol 241',
      ],
    );
  });

  test('conntrack once: the NOTRACK pair in raw prerouting, keyed by sets', () => {
    const notrack = chain(node1, 'insert-notrack');
    assert.deepEqual(notrack?.base, { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' });
    assert.deepEqual(rulesOf(node1, 'insert-notrack'), [
      'iifname @insert_bridges iifname . ip daddr != @insert_direct fib daddr type != local notrack comment "networks.*.insert: the guests, on their way to the appliance"',
      'iifname . ip daddr @insert_returns notrack comment "networks.*.insert: back from the appliance, for the guests"',
    ]);
    assert.deepEqual(keys(set(node1, 'insert_bridges')), ['qbr-vm']);
    assert.deepEqual(keys(set(node1, 'insert_returns')), ['qbr-fw . 10.7.0.0/24']);
    // East-west and the hairpin stay tracked: routed directly, both ways, NATed once.
    assert.deepEqual(keys(set(node1, 'insert_direct')), ['qbr-vm . 10.7.0.0/24', 'qbr-vm . 10.7.254.0/24']);
  });

  test('the transit bridge: loose reverse-path filtering, no redirects', () => {
    const sysctl = (k: string) => node1.sysctls.find((s) => s.key.join('.') === k)?.value;
    assert.equal(sysctl('net.ipv4.conf.qbr-fw.rp_filter'), '2');
    assert.equal(sysctl('net.ipv4.conf.all.send_redirects'), '0');
    assert.equal(sysctl('net.ipv4.conf.qbr-fw.send_redirects'), '0');
    assert.equal(
      node2.sysctls.find((s) => s.key.includes('rp_filter')),
      undefined,
    );
  });
});

test('a cluster without routers gets nothing of them (every example but seed 004)', () => {
  for (const file of clusterExamples().filter((f) => !f.includes('seed004'))) {
    for (const p of compileCluster(clusterFromText(readFileSync(file, 'utf8')))) {
      for (const name of [...ROUTER_OBJECTS, ...ROUTER_SETS, 'insert_bridges', 'insert_returns'])
        assert.equal(chain(p, name) ?? set(p, name), undefined, `${file} ${p.node} ${name}`);
      assert.ok(
        p.rules.every((r) => r.pref < 2000),
        `${file} ${p.node}`,
      );
    }
  }
});

describe("a cluster mixing an anycast network with a router's networks", () => {
  // An anycast network "lan" with a guest and a full-NAT forward to it, next to seed 004's.
  const LAN =
    '  lan:\n    bridge: guestbr0\n    subnet: 10.5.5.0/24\n    gateway: 10.5.5.254\n' +
    '    nodes: { node1: 10.5.5.251, node2: 10.5.5.252 }\n    pipes:\n      - { node1: eth1.200, node2: eth1.200 }\n';
  const text = edit(
    edit(
      edit(SEED004, '\nguests:', `\n${LAN}\nguests:`),
      '\nforwards:',
      '\n  web: { node: node2, network: lan, address: 10.5.5.20 }\n\nforwards:',
    ),
    '\nchecks:',
    '\n  - { port: 80, to: web }\n\nchecks:',
  );
  const plans = plansOf(text);

  test("the strategies' sets hold the anycast network alone", () => {
    for (const p of plans) {
      assert.deepEqual(keys(set(p, 'guest_subnets')), ['10.5.5.0/24'], p.node);
      assert.deepEqual(keys(set(p, 'guest_bridges')), ['guestbr0'], p.node);
      assert.deepEqual(keys(set(p, 'anycast_gateways')), ['10.5.5.254'], p.node);
      assert.deepEqual(keys(set(p, 'fullnat_source')), ['10.5.5.0/24'], p.node);
      assert.deepEqual(keys(set(p, 'fullnat_forwards')), ['tcp . 80'], p.node);
      assert.deepEqual(chain(p, 'pipe-egress')?.base?.devices, ['eth1.200'], p.node);
    }
  });

  test('east-west: the anycast subnet is routed directly from the tenant, tracked, never steered', () => {
    const node1 = node(plans, 'node1');
    assert.deepEqual(
      node1.rules.filter((r) => r.table === 254).map((r) => `${r.pref} ${r.to}`),
      ['2000 10.7.0.0/24', '2001 10.7.254.0/24', '2002 10.5.5.0/24'],
    );
    assert.deepEqual(keys(set(node1, 'insert_direct')), [
      'qbr-vm . 10.7.0.0/24',
      'qbr-vm . 10.7.254.0/24',
      'qbr-vm . 10.5.5.0/24',
    ]);
  });

  test("stateless: a router's bridges get nf_call_iptables as the others (the global flag rules anyway)", () => {
    const tagged = edit(
      edit(
        edit(text, 'strategy: fullnat', 'strategy: stateless'),
        'node1: { address: 192.168.122.11 }',
        'node1: { address: 192.168.122.11, tag: 1 }',
      ),
      'node2: { address: 192.168.122.12 }',
      'node2: { address: 192.168.122.12, tag: 2 }',
    );
    for (const p of plansOf(tagged))
      assert.deepEqual(
        p.bridges.filter((b) => b.name !== 'xenbr0').map((b) => `${b.name} ${b.callIptables}`),
        ['qbr-vm true', 'qbr-fw true', 'qbr-mgmt true', 'guestbr0 true'],
        p.node,
      );
  });

  test("the anycast gateway on every node, the router's gateway on node1 alone", () => {
    for (const p of plans) {
      const cidrs = p.addresses.map((a) => a.cidr);
      assert.ok(cidrs.includes('10.5.5.254/24'), p.node);
      assert.equal(cidrs.includes('10.7.0.1/24'), p.node === 'node1', p.node);
    }
  });
});

test("a SNAT address shared by a router's networks: one /32, both subnets leave as it", () => {
  const text = edit(
    SEED004,
    '    router: node1\n\nguests:',
    '    router: node1\n    snat: 192.168.122.50\n\nguests:',
  );
  const node1 = node(plansOf(text), 'node1');
  assert.equal(node1.addresses.filter((a) => a.cidr === '192.168.122.50/32').length, 1);
  assert.deepEqual(
    set(node1, 'router_snat')?.elements.map((e) => `${e.key[0]?.value} -> ${e.value?.[0]?.value}`),
    ['10.7.0.0/24 -> 192.168.122.50', '10.7.255.0/29 -> 192.168.122.11', '10.7.254.0/24 -> 192.168.122.50'],
  );
});
