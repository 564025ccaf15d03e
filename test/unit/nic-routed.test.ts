// nic up|down on routed networks, rootless, on a fake node (test/support/fake-routed-node.ts) that keeps
// links, nft elements, routes and proxy-NDP entries as the kernel and nft would and records every
// command. What up and down run, twice = once, a stale plug of the tap's name cleared, orphans
// reconciled, refusals that change nothing, the faults, and a migration in either order leaving one
// node proxying.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { clusterKind } from '../../src/systems/cluster/kind.ts';
import { NicRefused, nicDown, nicUp } from '../../src/systems/cluster/nic/index.ts';
import { readRecord, recordOf } from '../../src/systems/cluster/nic/record.ts';
import { type NicTable, nicTableOf } from '../../src/systems/cluster/nic/table.ts';
import { resolve } from '../../src/systems/cluster/resolve.ts';
import { parseSpecTextOf } from '../../src/systems/kinds.ts';
import { fakeNode } from '../support/fake-routed-node.ts';

/** examples/routed-flat.yaml resolved (public: eth1, table 500, 2001:db8::/64; internal: eth2, no IPv6). */
const flat: NicTable = nicTableOf(
  resolve(
    parseSpecTextOf(readFileSync('examples/routed-flat.yaml', 'utf8'), 'cluster.yaml', clusterKind).spec,
  ),
);
/** The same, with a bridged network lan on eth3 and a guest vm5 on node1 plugged into it. */
const mixed: NicTable = nicTableOf(
  resolve(
    parseSpecTextOf(
      readFileSync('examples/routed-flat.yaml', 'utf8')
        .replace('interfaces:\n', 'interfaces:\n  eth3: {}\n')
        .replace(
          'networks:\n',
          'networks:\n  lan: { mode: bridged, trunk: eth3, bridge: brlan, subnet: 172.20.0.0/24 }\n',
        )
        .replace(
          'guests:\n',
          'guests:\n  vm5: { node: node1, nics: [{ network: lan, mac: "52:54:00:00:05:01", address: 172.20.0.5 }] }\n',
        ),
      'cluster.yaml',
      clusterKind,
    ).spec,
  ),
);
const VM1 = '2001:db8::5054:ff:fe00:101';
const TAP_MAC = 'cc:47:52:4e:45:54';

const NODE1 = ['eth0', 'eth1', 'eth2', 'tap5'];
const up = (n: ReturnType<typeof fakeNode>, ref = 'vm1:0', tap = 'tap5', node = 'node1', faults = []) =>
  nicUp(n.exec, flat, node, ref, tap, { faults });

describe('nic up on a routed network', () => {
  test('a fresh tap: elements, then link, sysctls, /32, /128, proxy entry and announcement in one process; nothing listed', () => {
    const n = fakeNode(NODE1);
    const plugged = up(n);
    const record = `convergent t=500 u=eth1 h=192.0.2.10,${VM1} ra>192.0.2.1 r4=192.0.2.10 r6=${VM1} r6=fe80::5054:ff:fe00:101 rf>antispoof rp>protected`;
    assert.deepEqual(n.ran.slice(0, 2), [
      'ip -force -j -batch - <<link show dev tap5\nlink show dev eth1\n',
      `nft -f - <<create element inet convergent_routed plugged { "tap5" }
add element arp convergent_arp arp_source { "tap5" : 192.0.2.1 }
add element inet convergent_routed tap_ipv4 { "tap5" . 192.0.2.10 }
add element inet convergent_routed tap_ipv6 { "tap5" . ${VM1} }
add element inet convergent_routed tap_ipv6 { "tap5" . fe80::5054:ff:fe00:101 }
add element inet convergent_routed from_guest { "tap5" : jump antispoof }
add element inet convergent_routed to_profile { "tap5" : jump protected }
`,
    ]);
    assert.equal(n.ran.length, 3, n.ran.join('\n'));
    assert.match(n.ran[2] as string, /^python3 -I -S \S+\/kernel.py <</);
    assert.equal(
      (n.ran[2] as string).replace(/^.*?<</, ''),
      `link tap5 ${TAP_MAC} 1500 ${record}
sysctl net/ipv4/conf/tap5/proxy_arp 1
sysctl net/ipv4/neigh/tap5/proxy_delay 0
sysctl net/ipv6/conf/tap5/proxy_ndp 0
route replace 192.0.2.10 tap5 500
route replace ${VM1} tap5 500
proxy replace ${VM1} eth1
announce eth1 192.0.2.10 ${VM1}
`,
    );
    assert.equal(
      plugged.line,
      `nic vm1:0 on tap5: routed public (table 500, uplink eth1) mtu 1500, 192.0.2.10 ${VM1}, anti-spoofing 192.0.2.10 ${VM1}, profile protected`,
    );
    assert.equal(plugged.warning, undefined);
    assert.deepEqual(readRecord(record, 'tap5')?.routes, {
      table: 500,
      uplink: 'eth1',
      addresses: ['192.0.2.10', VM1],
    });
  });

  test('python3 missing: ip and sysctl make the same changes, and the warning names the package', () => {
    const n = fakeNode(NODE1, { python: false });
    const plugged = up(n);
    const record = n.link.get('tap5')?.ifalias;
    assert.deepEqual(n.ran.slice(3), [
      `ip link set dev tap5 nomaster address ${TAP_MAC} mtu 1500 alias ${record} up`,
      'sysctl -qw net/ipv4/conf/tap5/proxy_arp=1',
      'sysctl -qw net/ipv4/neigh/tap5/proxy_delay=0',
      'sysctl -qw net/ipv6/conf/tap5/proxy_ndp=0',
      `ip -batch - <<route replace 192.0.2.10/32 proto static dev tap5 table 500
route replace ${VM1}/128 proto static dev tap5 table 500
neigh replace proxy ${VM1} dev eth1
`,
    ]);
    assert.match(plugged.warning ?? '', /python3 is not installed \(Debian package python3\)/);
    const python = fakeNode(NODE1);
    up(python);
    assert.deepEqual(n.state(), python.state(), 'the same node as with python3');
  });

  test('twice is once: the second run removes nothing the first added, and the node holds the same', () => {
    const n = fakeNode(NODE1);
    up(n);
    const once = n.state();
    const before = n.ran.length;
    up(n);
    assert.deepEqual(n.state(), once);
    const again = n.ran.slice(before).join('\n');
    assert.doesNotMatch(again, /route del|neigh del/);
    assert.doesNotMatch(again, /nft -j list/, 'the record named the elements: no set read');
  });

  test("a stale plug of the tap's name (another guest's, with its record): its routes, proxy entry and elements go", () => {
    const n = fakeNode([...NODE1, 'tap6']);
    nicUp(n.exec, flat, 'node1', 'vm1:0', 'tap6');
    // The hypervisor gives tap6's name to vm1's NIC 1 (internal, no IPv6) while tap6 lives on.
    up(n, 'vm1:1', 'tap6');
    const s = n.state();
    assert.deepEqual(
      s.routes,
      ['501 10.50.0.10 tap6'].map((r) => r.replace('501', String(flat.routed[1]?.table.id))),
    );
    assert.deepEqual(s.proxies, []);
    assert.ok(!s.elements.some((e) => e.includes('192.0.2.10') || e.includes(VM1)), s.elements.join('\n'));
    assert.ok(s.elements.includes('arp convergent_arp arp_source "tap6" : 10.50.0.1'));
  });

  test("a routed tap's name reused for a bridged NIC: the routed plug's routes, proxy entry and elements go", () => {
    const n = fakeNode([...NODE1, 'brlan']);
    nicUp(n.exec, mixed, 'node1', 'vm1:0', 'tap5');
    nicUp(n.exec, mixed, 'node1', 'vm5:0', 'tap5');
    const s = n.state();
    assert.deepEqual([s.routes, s.proxies], [[], []]);
    assert.ok(!s.elements.some((e) => /convergent_(routed|arp)/.test(e)), s.elements.join('\n'));
    assert.ok(
      s.elements.includes('bridge convergent_ports port_mac "tap5" . 52:54:00:00:05:01'),
      s.elements.join('\n'),
    );
  });

  test('refusals change nothing: unknown guest, other node, no tap, no uplink device, tables not loaded', () => {
    const cases: [ReturnType<typeof fakeNode>, () => unknown, RegExp][] = [];
    const add = (
      n: ReturnType<typeof fakeNode>,
      run: (n: ReturnType<typeof fakeNode>) => unknown,
      m: RegExp,
    ) => cases.push([n, () => run(n), m]);
    add(fakeNode(NODE1), (n) => up(n, 'nobody'), /no guest "nobody"/);
    add(fakeNode(NODE1), (n) => up(n, 'vm2:0'), /on node node2/);
    add(fakeNode(['eth1']), (n) => up(n), /no interface tap5/);
    add(fakeNode(['tap5']), (n) => up(n), /no device eth1 on this node for vm1:0's routed network public/);
    add(
      fakeNode(NODE1, { tables: false }),
      (n) => up(n),
      /table inet convergent_routed or arp convergent_arp is not loaded/,
    );
    add(fakeNode(NODE1), (n) => up(n, 'vm1:0', 'eth1'), /own links/);
    for (const [n, run, message] of cases) {
      assert.throws(run, (err: unknown) => err instanceof NicRefused && message.test(err.message));
      assert.deepEqual(
        n.changes().filter((l) => !l.startsWith('nft -f')),
        [],
        'nothing but a refused transaction',
      );
      assert.deepEqual(n.state().routes, []);
    }
  });

  test('faults: no-tap-proxy-arp leaves proxy_arp off, no-garp announces nothing', () => {
    const n = fakeNode(NODE1);
    nicUp(n.exec, flat, 'node1', 'vm1:0', 'tap5', { faults: ['no-tap-proxy-arp', 'no-garp'] });
    assert.deepEqual(n.sysctls, ['net/ipv6/conf/tap5/proxy_ndp=0']);
    assert.deepEqual(n.announced, []);
    const m = fakeNode(NODE1);
    up(m);
    assert.deepEqual(m.announced, [`eth1 192.0.2.10 ${VM1}`], 'without the fault, announced');
  });

  test('a record fits an alias even with two full-length IPv6 addresses; anything else is no record', () => {
    const long = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe';
    const plug = readRecord(
      `convergent t=4294967294 u=bond0.4094 h=255.255.255.254,${long} ra>255.255.255.254 r4=255.255.255.254 r6=${long} r6=fe80::ffff:ffff:ffff:fffe rf>antispoof rp>protected`,
      'tap5',
    );
    assert.ok(plug);
    const again = recordOf(plug);
    assert.ok(again && Buffer.byteLength(again) <= 255, again);
    for (const alias of [
      'convergent t=500',
      'convergent u=eth1 h=192.0.2.10',
      'convergent ra>x;flush ruleset',
      'convergent rf',
    ])
      assert.equal(readRecord(alias, 'tap5'), undefined, alias);
  });
});

describe('nic down on a routed network', () => {
  test('a live tap: its proxy entry, routes and elements from its record; twice is once', () => {
    const n = fakeNode(NODE1);
    up(n);
    const before = n.ran.length;
    const done = nicDown(n.exec, flat, 'node1', 'tap5', { localOnly: true });
    assert.deepEqual(
      n.ran
        .slice(before)
        .filter((l) => l.startsWith('python3'))
        .map((l) => l.replace(/^.*?<</, '')),
      [
        `route del 192.0.2.10 tap5 500
unhost ${VM1} tap5 500 eth1
`,
      ],
    );
    assert.equal(
      done.line,
      `nic down tap5 on node1: 6 elements removed, routes of 192.0.2.10 ${VM1} removed, in no bridge`,
    );
    const s = n.state();
    assert.deepEqual([s.elements, s.routes, s.proxies], [[], [], []]);
    const twice = nicDown(n.exec, flat, 'node1', 'tap5', { localOnly: true });
    assert.equal(twice.line, 'nic down tap5 on node1: 0 elements removed, in no bridge');
    assert.deepEqual(n.state(), s);
  });

  test("a live tap's down leaves the proxy entry of an address another tap of the node routes now", () => {
    for (const python of [true, false]) {
      const n = fakeNode([...NODE1, 'tap7'], { python });
      up(n);
      // The guest's NIC plugged again on tap7 while tap5 lives on: tap7's /128 replaced tap5's.
      up(n, 'vm1:0', 'tap7');
      n.routes.delete(`500 ${VM1} tap5`);
      n.routes.delete('500 192.0.2.10 tap5');
      nicDown(n.exec, flat, 'node1', 'tap5', { localOnly: true });
      assert.deepEqual(n.state().proxies, [`eth1 ${VM1}`], `python3 ${python}`);
      nicDown(n.exec, flat, 'node1', 'tap7', { localOnly: true });
      assert.deepEqual(n.state().proxies, [], `python3 ${python}: tap7's down removes it`);
    }
  });

  test('a live tap that is down (its routes flushed): down still removes its proxy entry', () => {
    for (const python of [true, false]) {
      const n = fakeNode(NODE1, { python });
      up(n);
      // The kernel flushes a device's routes when it goes down.
      for (const r of [...n.routes]) if (r.endsWith(' tap5')) n.routes.delete(r);
      nicDown(n.exec, flat, 'node1', 'tap5', { localOnly: true });
      assert.deepEqual(n.state().proxies, [], `python3 ${python}`);
    }
  });

  test("a gone tap: orphan proxy entries (no /128 left in the table) go, another guest's stay", () => {
    const n = fakeNode(NODE1);
    up(n);
    n.proxies.add('eth1 2001:db8::dead');
    const done = nicDown(n.exec, flat, 'node1', 'tap9', { localOnly: false });
    assert.match(done.line, /1 orphan proxy-NDP entry removed, tap9 is gone$/);
    assert.deepEqual(n.state().proxies, [`eth1 ${VM1}`]);
  });

  test('keep-proxy-ndp: down --local-only keeps the proxy entry (and only --local-only)', () => {
    const n = fakeNode(NODE1);
    up(n);
    nicDown(n.exec, flat, 'node1', 'tap5', { localOnly: true, faults: ['keep-proxy-ndp'] });
    assert.deepEqual(n.state().proxies, [`eth1 ${VM1}`]);
    assert.deepEqual(n.state().routes, []);
    const m = fakeNode(NODE1);
    up(m);
    nicDown(m.exec, flat, 'node1', 'tap5', { localOnly: false, faults: ['keep-proxy-ndp'] });
    assert.deepEqual(m.state().proxies, []);
  });

  test('migration: up on the new node and down --local-only on the old, in either order: one node proxies', () => {
    const moved = {
      ...flat,
      guests: flat.guests.map((g) => (g.name === 'vm1' ? { ...g, node: 'node2' } : g)),
    };
    for (const order of ['up first', 'down first']) {
      const old = fakeNode(NODE1);
      up(old);
      const fresh = fakeNode(NODE1);
      const steps = [
        () => nicUp(fresh.exec, moved, 'node2', 'vm1:0', 'tap5'),
        () => nicDown(old.exec, flat, 'node1', 'tap5', { localOnly: true }),
      ];
      for (const step of order === 'up first' ? steps : steps.reverse()) step();
      // Again, as a retried hook would.
      for (const step of steps) step();
      assert.deepEqual([old.state().proxies, fresh.state().proxies], [[], [`eth1 ${VM1}`]], order);
    }
  });
});
