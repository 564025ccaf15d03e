// The Ganeti host networking spec (seed 003, issue 15) as `convergent check` sees it: both examples
// check clean; every mistake in node interfaces, bridged and private networks, VLAN pools and guest
// NICs is one problem located at file:line:col with a fix; and the resolved model (bridges, their
// ports, pool slots, NICs) is what the host files and the lab are built from.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { SEED_CASES_LINKS } from '../support/ganeti/cases-links.ts';
import { GATEWAY_CASES, POOL_CASES } from '../support/ganeti/cases-more.ts';
import { SEED_CASES_NETWORKS } from '../support/ganeti/cases-networks.ts';
import { BRIDGED_NICS, edit, MIXED, POOLED, PROXMOX, SEED, SEED6 } from '../support/ganeti/fixtures.ts';
import { clusterFromText, problemsOf } from '../support/spec.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-ganeti-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Each expected problem is located, says what is wrong and has a fix; none is a stack trace. */
function assertShape(problems: readonly string[]): void {
  for (const p of problems) {
    assert.match(p, /^\S+\.yaml:\d+:\d+: error: \S.*\n {2}fix: \S.*$/, p);
    assert.doesNotMatch(p, /\n\s+at |Error:|undefined|NaN|\[object/, p);
  }
}

describe('the ganeti examples', () => {
  test('ganeti-seed and proxmox-vlan check clean', () => {
    assert.deepEqual(problemsOf(SEED, 'ganeti-seed.yaml'), []);
    assert.deepEqual(problemsOf(PROXMOX, 'proxmox-vlan.yaml'), []);
  });

  test('check counts their networks by mode and their NICs', () => {
    const seed = convergent('check', join(EXAMPLES_DIR, 'ganeti-seed.yaml'));
    assert.equal(seed.code, 0, seed.stderr);
    assert.match(
      seed.stdout,
      /ok: cluster ganeti, 2 nodes, 4 networks \(2 bridged, 2 private\), 4 guests \(8 NICs\), 0 forwards\n/,
    );
    const proxmox = convergent('check', join(EXAMPLES_DIR, 'proxmox-vlan.yaml'));
    assert.equal(proxmox.code, 0, proxmox.stderr);
    assert.match(
      proxmox.stdout,
      /ok: cluster proxmox, 2 nodes, 1 network \(bridged\), 3 guests \(3 NICs\), 0 forwards\n/,
    );
  });
});

describe('check refuses the two NICs bridged instead of bonded (seed 003: "Do not bridge the physical interfaces")', () => {
  test('one located error whose fix is the bond, exit 1, no stack trace', () => {
    const file = join(tmp, 'bridged-nics.yaml');
    writeFileSync(file, BRIDGED_NICS);
    const r = convergent('check', file);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      r.stderr,
      `${file}:12:10: error: the uplink bridge br0 has 2 physical NICs as ports (eno1, eno2): side by side on one switch they form a loop; do not bridge the physical interfaces, bond them\n` +
        '  fix: under interfaces: bond0: { bond: { slaves: [eno1, eno2] } }, and ports: [bond0]\n' +
        '1 problem found.\n',
    );
    assert.equal(r.stdout, '');
  });

  test('the same NICs bonded as the fix says, the bond the port and the trunk, check clean', () => {
    const bonded = edit(
      edit(
        BRIDGED_NICS,
        '  eno2: { mtu: 9000 }\n',
        '  eno2: { mtu: 9000 }\n  bond0: { mtu: 9000, bond: { slaves: [eno1, eno2] } }\n',
      ),
      'ports: [eno1, eno2]',
      'ports: [bond0]',
    ).replaceAll('trunk: eno1', 'trunk: bond0');
    assert.deepEqual(problemsOf(bonded), []);
  });
});

for (const [title, base, cases, file] of [
  [
    'node interfaces, bridged and private networks, guest NICs',
    SEED6,
    [...SEED_CASES_LINKS, ...SEED_CASES_NETWORKS],
    'ganeti-seed.yaml',
  ],
  ['VLAN pools', POOLED, POOL_CASES, 'ganeti-seed.yaml'],
  [
    'what only a gateway network has: forwards, proxies, sync, "gateway"',
    MIXED,
    GATEWAY_CASES,
    'cluster.yaml',
  ],
] as const) {
  describe(`check: ${title}: each mistake one located problem with a fix`, () => {
    test('the base spec is valid', () => {
      assert.deepEqual(problemsOf(base, file), []);
    });
    for (const c of cases)
      test(c.name, () => {
        assertShape(c.expected);
        assert.deepEqual(problemsOf(edit(base, c.from, c.to), file), c.expected);
      });
  });
}

describe('private networks are address spaces of their own', () => {
  test('one address on private-a and on private-b, which share a subnet and a bridge: no clash', () => {
    assert.deepEqual(problemsOf(edit(SEED, 'address: 192.168.10.4 }', 'address: 192.168.10.1 }')), []);
  });

  test('a private network may overlap a bridged one or the uplink; a guest on both may not', () => {
    const overlapping = edit(
      SEED,
      'macPrefix: "aa:00:20", subnet: 192.168.10.0/24',
      'macPrefix: "aa:00:20", subnet: 62.217.124.0/24',
    );
    const problems = problemsOf(overlapping, 'ganeti-seed.yaml');
    assert.ok(
      problems.length > 0 && problems.every((p) => /overlapping subnets|outside network private-b/.test(p)),
      problems.join('\n'),
    );
    // Without guests on both, a private subnet over a bridged one or the uplink is no problem:
    // nothing routes it.
    const guestless = (text: string) => text.slice(0, text.indexOf('\nguests:'));
    assert.deepEqual(problemsOf(guestless(overlapping), 'ganeti-seed.yaml'), []);
    const overUplink = edit(SEED, 'subnet: 192.168.10.0/24 }\n\n', 'subnet: 83.212.4.192/27 }\n\n');
    assert.deepEqual(problemsOf(guestless(overUplink), 'ganeti-seed.yaml'), []);
  });
});

describe('the resolved seed', () => {
  const cluster = clusterFromText(SEED);

  test("every node's interfaces: the NICs, then the bond over them", () => {
    for (const node of cluster.nodes) {
      assert.deepEqual(
        node.interfaces.map(({ path: _, ...i }) => i),
        [
          { kind: 'nic', name: 'eno1', mtu: 9000 },
          { kind: 'nic', name: 'eno2', mtu: 9000 },
          {
            kind: 'bond',
            name: 'bond0',
            mtu: 9000,
            mode: 'active-backup',
            slaves: ['eno1', 'eno2'],
            primary: 'eno1',
            miimon: 100,
            xmitHashPolicy: undefined,
          },
        ],
      );
      assert.equal(node.uplinkBridge, 'br0');
      assert.deepEqual(node.uplinkPorts, ['bond0']);
    }
  });

  test('a bridge per VLAN over bond0.<vlan>; prv0 shared by private-a and private-b over bond0.990', () => {
    assert.deepEqual(
      cluster.bridged.map((n) => [n.name, n.mode, n.bridge, n.uplink?.device, n.mtu, n.macPrefix]),
      [
        ['vlan104', 'bridged', 'vlan104', 'bond0.104', 9000, undefined],
        ['vlan992', 'bridged', 'vlan992', 'bond0.992', 1500, undefined],
        ['private-a', 'private', 'prv0', 'bond0.990', undefined, 'aa:00:10'],
        ['private-b', 'private', 'prv0', 'bond0.990', undefined, 'aa:00:20'],
      ],
    );
    assert.deepEqual(cluster.networks, [], 'no gateway network: the nodes route none of these');
  });

  test("the guests' NICs, and NIC 0 as the guest's own network and address", () => {
    const vm2 = cluster.guests.find((g) => g.name === 'vm2');
    assert.ok(vm2);
    assert.deepEqual(
      vm2.nics.map((n) => [n.index, n.network, n.mac, n.address, n.firewall, n.spoof]),
      [
        [0, 'vlan104', '52:54:00:00:02:04', 0x3ed97c0b, 'limited', 'drop'],
        [1, 'private-a', 'aa:00:10:00:00:02', 0xc0a80a02, 'unprotected', 'drop'],
      ],
    );
    assert.deepEqual([vm2.network, vm2.address, vm2.mac], ['vlan104', 0x3ed97c0b, '52:54:00:00:02:04']);
    assert.equal(cluster.guests.find((g) => g.name === 'vm4')?.nics[0]?.spoof, 'allow');
  });

  test('pool slots: allocated in order, kept when a network is appended, a pinned one kept', () => {
    const slots = (text: string) =>
      Object.fromEntries(
        clusterFromText(text).bridged.flatMap((n) =>
          n.pool ? [[n.name, [n.pool.slot, n.bridge, n.uplink?.device]]] : [],
        ),
      );
    assert.deepEqual(slots(POOLED), { tenant1: [1, 'prv1', 'bond0.401'], tenant2: [2, 'prv2', 'bond0.402'] });
    const appended = edit(
      POOLED,
      '\nguests:',
      '  tenant3: { mode: private, pool: prv, subnet: 10.0.3.0/24 }\n\nguests:',
    );
    assert.deepEqual(slots(appended), {
      tenant1: [1, 'prv1', 'bond0.401'],
      tenant2: [2, 'prv2', 'bond0.402'],
      tenant3: [3, 'prv3', 'bond0.403'],
    });
    const pinned = edit(
      POOLED,
      'tenant2: { mode: private, pool: prv,',
      'tenant2: { mode: private, pool: prv, slot: 1,',
    );
    assert.deepEqual(slots(pinned), { tenant1: [2, 'prv2', 'bond0.402'], tenant2: [1, 'prv1', 'bond0.401'] });
  });
});
