// The routed networks' spec (issue 16) as `convergent check` sees it: the three routed examples
// check clean; every mistake in a routed network, its guests' NICs, or in the fields that belong to
// one mode is one problem located at file:line:col with a fix; and tables are numbered as the seed
// names them (the VLAN's), pinned, or allocated stably from 100, never iproute2's own.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { renderRule } from '../../src/nft/render.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { ARP_SOURCE, ARP_TABLE } from '../../src/systems/cluster/features/routed/names.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { allocateTables } from '../../src/systems/cluster/resolve-routed.ts';
import type { NetworkSpec } from '../../src/systems/cluster/schema.ts';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { ROUTED_CASES } from '../support/ganeti/cases-routed.ts';
import { ROUTED_FIELD_CASES } from '../support/ganeti/cases-routed-fields.ts';
import { edit } from '../support/ganeti/fixtures.ts';
import { FLAVOURS, ROUTED } from '../support/ganeti/routed.ts';
import { clusterFromText, problemsOf } from '../support/spec.ts';

describe('the routed examples', () => {
  for (const [file, summary] of [
    ['routed-flat.yaml', /ok: cluster routed-flat, 2 nodes, 2 networks \(routed\), \d+ guests \(\d+ NICs\)/],
    ['ganeti-routed.yaml', /ok: cluster ganeti-routed, 2 nodes, 1 network \(routed\), 2 guests \(2 NICs\)/],
    ['gnt-routed.yaml', /ok: cluster gnt-routed, 3 nodes, 1 network \(routed\), 2 guests \(2 NICs\)/],
  ] as const)
    test(`${file} checks clean, its routed networks counted`, () => {
      const r = convergent('check', join(EXAMPLES_DIR, file));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, summary);
    });
});

test('check names each routed table, starring the allocated ones (they move when networks before them go)', () => {
  const r = convergent('check', join(EXAMPLES_DIR, 'routed-flat.yaml'));
  assert.match(r.stdout, /\nrouting tables: public=500 internal=100\* {2}\(\* allocated: pin with "table:"/);
});

describe('check: routed networks: each mistake one located problem with a fix', () => {
  test('the base spec is valid (a routed NIC without a MAC too, where the network has no subnet6)', () => {
    assert.deepEqual(problemsOf(ROUTED), []);
  });
  for (const c of [...ROUTED_CASES, ...ROUTED_FIELD_CASES])
    test(c.name, () => {
      for (const p of c.expected) {
        assert.match(p, /^cluster\.yaml:\d+:\d+: error: \S.*\n {2}fix: \S.*$/, p);
        assert.doesNotMatch(p, /\n\s+at |Error:|undefined|NaN|\[object/, p);
      }
      const text = c.edits.reduce((t, [from, to]) => edit(t, from, to), ROUTED);
      assert.deepEqual(problemsOf(text), c.expected);
    });
});

test('at most 100 routed networks: their rules take preferences 1000-1999, ten each', () => {
  const n = 101;
  const interfaces = Array.from({ length: n }, (_, i) => `  eth${i + 1}: {}`).join('\n');
  const networks = Array.from(
    { length: n },
    (_, i) =>
      `  r${i + 1}: { mode: routed, trunk: eth${i + 1}, subnet: 10.${i}.0.0/24, gateway: 10.${i}.0.1 }`,
  ).join('\n');
  const text = `name: many\nuplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1 }\ninterfaces:\n${interfaces}\nnodes:\n  node1: { address: 192.168.122.11 }\nnetworks:\n${networks}\n`;
  assert.deepEqual(problemsOf(text), [
    `cluster.yaml:${n + 107}:9: error: network r101 is routed network 101: a node holds at most 100 (their policy rules take preferences 1000-1999, ten each)\n  fix: carry more of them as one routed network with a larger subnet, or make network r101 bridged`,
  ]);
});

describe('the resolved routed networks', () => {
  const cluster = clusterFromText(ROUTED);

  test('routed networks are neither gateway nor bridged networks', () => {
    assert.deepEqual(
      cluster.networks.map((n) => n.name),
      [],
    );
    assert.deepEqual(
      cluster.bridged.map((n) => n.name),
      ['vlan104'],
    );
  });

  test('tables: pinned, the VLAN when tagged, else allocated from 100; named as the network', () => {
    assert.deepEqual(
      cluster.routed.map((n) => [n.name, n.table.id, n.table.name, n.table.allocated, n.uplink.device]),
      [
        ['public', 500, 'public', false, 'eth1'],
        ['tagged', 993, 'tagged', false, 'bond0.993'],
        ['internal', 100, 'internal', true, 'eth2'],
      ],
    );
  });

  test('an allocated table stays when a network is appended, and skips 253-255 (default, main, local)', () => {
    const appended = edit(
      ROUTED,
      '\nguests:',
      '  later: { mode: routed, trunk: eth3, subnet: 10.60.0.0/24, gateway: 10.60.0.1 }\n\nguests:',
    ).replace('  eth2: {}\n', '  eth2: {}\n  eth3: {}\n');
    assert.deepEqual(
      clusterFromText(appended).routed.map((n) => [n.name, n.table.id]),
      [
        ['public', 500],
        ['tagged', 993],
        ['internal', 100],
        ['later', 101],
      ],
    );
    const pinned = Array.from({ length: 153 }, (_, i): [string, NetworkSpec] => [
      `n${i}`,
      { table: 100 + i } as NetworkSpec,
    ]);
    const tables = allocateTables([...pinned, ['free', {} as NetworkSpec]]);
    assert.equal(tables.get('n152')?.id, 252);
    assert.deepEqual(tables.get('free'), { id: 256, allocated: true });
  });

  test("defaults: the ARP address is the last host, the tap MAC gnt-networking's, IPv6 by EUI-64", () => {
    const internal = cluster.routed.find((n) => n.name === 'internal');
    assert.equal(internal?.arpAddress, 0x0a3200fe, '10.50.0.254');
    assert.equal(internal?.tapMac, 'cc:47:52:4e:45:54');
    assert.equal(internal?.router, 'node1');
    const vm2 = cluster.guests.find((g) => g.name === 'vm2');
    assert.deepEqual(
      vm2?.nics.map((n) => [n.network, n.address6]),
      [
        ['public', '2001:db8::5054:ff:fe00:201'],
        ['tagged', undefined],
      ],
    );
  });
});

describe("F27: each of Synnefo's network flavours compiles to its node prerequisites (seed-requirements §5.3)", () => {
  const plans = compileCluster(clusterFromText(FLAVOURS));
  const node1 = plans.find((p) => p.node === 'node1') as HostPlan;
  const bridge = (name: string) => node1.bridges.find((b) => b.name === name);

  test('every node alike: the same bridges, tables and rules on node1 and node2', () => {
    const shape = (p: HostPlan) => [p.bridges.map((b) => [b.name, b.ports]), p.tables, p.rules];
    assert.deepEqual(shape(plans[1] as HostPlan), shape(node1));
  });

  test('IP_LESS_ROUTED: a table, rules into it, proxy ARP/NDP on the uplink, the ARP source; no bridge, no address', () => {
    assert.deepEqual(
      node1.tables.map((t) => [t.id, t.name]),
      [[100, 'snf-public']],
    );
    assert.deepEqual(
      node1.rules.map((r) => `-${r.family} ${r.match.kind} ${r.match.value} lookup ${r.table}`),
      [
        '-4 iif eth1 lookup 100',
        '-4 from 192.0.2.0/24 lookup 100',
        '-4 to 192.0.2.0/24 lookup 100',
        '-6 iif eth1 lookup 100',
        '-6 from 2001:db8::/64 lookup 100',
        '-6 to 2001:db8::/64 lookup 100',
      ],
    );
    const file = renderNode(node1).find((f) => f.path === FILES.sysctl);
    assert.ok(file);
    const sysctl = textOf(file);
    for (const line of ['net.ipv4.conf.eth1.proxy_arp = 1', 'net.ipv6.conf.eth1.proxy_ndp = 1'])
      assert.ok(sysctl.includes(`\n${line}\n`), line);
    const arp = node1.ruleset.tables.find((t) => t.family === 'arp' && t.name === ARP_TABLE);
    assert.deepEqual(
      arp?.sets
        .find((s) => s.name === ARP_SOURCE)
        ?.elements.map((e) => `${e.key[0]?.value} : ${e.value?.[0]?.value}`),
      ['eth1 : 192.0.2.254'],
      "the subnet's last host, as the seed's arptables mangle",
    );
    assert.ok(!node1.bridges.some((b) => b.ports.includes('eth1')), 'no bridge on the routed uplink');
    assert.deepEqual(
      node1.addresses.filter((a) => a.dev === 'eth1'),
      [],
    );
  });

  test('MAC_FILTERED: one bridge prv0 for both networks, a prefix filter each', () => {
    assert.deepEqual(bridge('prv0')?.ports, ['bond0.990']);
    const ports = node1.ruleset.tables.find((t) => t.family === 'bridge' && t.name === 'convergent_ports');
    const filters = ports?.chains
      .flatMap((c) => c.rules.map(renderRule))
      .filter((r) => r.includes('ff:ff:f0'));
    assert.deepEqual(
      filters?.map((r) => r.replace(/ comment .*/, '')),
      [
        'ether saddr & ff:ff:f0:00:00:00 != aa:00:10:00:00:00 counter drop',
        'ether saddr & ff:ff:f0:00:00:00 != aa:00:20:00:00:00 counter drop',
      ],
    );
  });

  test('PHYSICAL_VLAN: bridge prvN over VLAN base+N, one pair per network', () => {
    assert.deepEqual(bridge('prv1')?.ports, ['bond0.401']);
    assert.deepEqual(bridge('prv2')?.ports, ['bond0.402']);
    assert.deepEqual(
      node1.links.filter((l) => l.kind === 'vlan' && l.parent === 'bond0').map((l) => l.name),
      ['bond0.990', 'bond0.401', 'bond0.402', 'bond0.100'],
    );
  });

  test('CUSTOM: one bridge of its own name over its VLAN, no node address (the router is upstream)', () => {
    assert.deepEqual(bridge('br100')?.ports, ['bond0.100']);
    assert.deepEqual(
      node1.bridges.map((b) => b.name),
      ['br0', 'prv0', 'prv1', 'prv2', 'br100'],
    );
    assert.deepEqual(
      node1.addresses.map((a) => a.dev),
      ['br0'],
      'the node holds an address on its uplink only',
    );
  });
});
