// The host part of apply without root: the changes computed from what `ip -j` and /proc/sys said on a
// real kernel (test/support/host-recorded/, made by host-record.ts: an example node's ports and
// foreign objects, bare and after network.sh), and from live links written here for what this
// kernel cannot hold (bonds, VLANs). test/lab/apply-host.test.ts runs the changes.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Change, changeLine } from '../../src/apply/change.ts';
import { type Desired, desiredOf } from '../../src/apply/desired.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import {
  RECORD_FILE,
  readRecord,
  recordOf,
  recordUnion,
  writeRecord,
} from '../../src/apply/host/addresses.ts';
import { HostRefusal } from '../../src/apply/host/commands.ts';
import { type HostState, hostChanges, hostPart } from '../../src/apply/host/part.ts';
import type { LiveLink } from '../../src/apply/host/read.ts';
import { snapshotHost } from '../../src/apply/host/snapshot.ts';
import type { HostIO } from '../../src/apply/part.ts';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { recordedRunner } from '../support/host-recorded.ts';

function desiredOfNode(example: string, node: string): Desired {
  const plan = compileCluster(readCluster(join(EXAMPLES_DIR, `${example}.yaml`))).find(
    (p) => p.node === node,
  ) as HostPlan;
  const files = renderNode(plan);
  const nft = textOf(files.find((f) => f.path === FILES.nftables) as (typeof files)[number]);
  return desiredOf(plan, files, nft);
}

/** The recorded host's changes, through the Part as the engine calls it. */
function changesOf(recording: string, desired: Desired): { io: HostIO; live: HostState; changes: Change[] } {
  const io: HostIO = { run: recordedRunner(recording), root: '/', stateDir: '/nonexistent' };
  const live = hostPart.read(io);
  return { io, live, changes: hostPart.changes(io, live, desired) };
}

const argvs = (c: Change | undefined) => c?.commands.map((cmd) => cmd.argv.join(' ')) ?? [];

describe('apply, host part: recorded hosts', () => {
  test('part4 node1 bare: its bridges, addresses, default route and sysctls, as adds; nothing foreign', () => {
    const { changes } = changesOf('part4-stateless-node1-bare', desiredOfNode('part4-stateless', 'node1'));
    assert.deepEqual(changes.map(changeLine), [
      '+ bridge xenbr0: ports eth0  (nodes.node1 uplink)',
      '+ bridge guestbr0: ports eth1.100  (networks.guestnet (MAC from nodes.node1 tag 1))',
      '+ address 192.168.122.11/24 dev xenbr0  (nodes.node1.address)',
      '+ address 10.5.5.251/24 dev guestbr0  (networks.guestnet.nodes.node1)',
      '+ address 10.5.5.254/24 dev guestbr0  (networks.guestnet.gateway (anycast))',
      '+ route default  (uplink.gateway)',
      '~ sysctl net.ipv4.ip_forward: 0 -> 1  (nodes.node1: the node routes its guests)',
      '~ sysctl net.ipv4.conf.guestbr0.arp_announce: (no such key) -> 2  (networks.guestnet.gateway)',
    ]);
    assert.deepEqual(argvs(changes[1]), [
      'ip link add guestbr0 type bridge',
      'ip link set dev guestbr0 type bridge stp_state 0 nf_call_iptables 1 mcast_snooping 1',
      'ip link set dev guestbr0 alias convergent: networks.guestnet',
      'ip link set dev eth1.100 master guestbr0 up',
      'ip link set dev guestbr0 address 0a:01:00:00:00:01',
      'ip link set dev guestbr0 up',
    ]);
    assert.deepEqual(argvs(changes[5]), ['ip route replace default via 192.168.122.1 dev xenbr0 proto 241']);
    assert.ok(!changes.some((c) => c.what.includes('virbr9') || c.what.includes('172.31.')));
  });

  for (const [example, node] of [
    ['part4-stateless', 'node1'],
    ['routed-flat', 'node2'],
    ['seed004-insert', 'node1'],
  ] as const)
    test(`${example} ${node} after network.sh and sysctl -p: no change`, () => {
      const { changes } = changesOf(`${example}-${node}-applied`, desiredOfNode(example, node));
      assert.deepEqual(changes.map(changeLine), []);
    });

  test('routed-flat node2 bare: tables, unreachable defaults and rules of both families, with their protocol', () => {
    const { changes } = changesOf('routed-flat-node2-bare', desiredOfNode('routed-flat', 'node2'));
    const lines = changes.map(changeLine);
    assert.ok(
      lines.some((l) =>
        l.startsWith('+ route unreachable default metric 4294967295 table 500 (IPv6)  (networks.public'),
      ),
      lines.join('\n'),
    );
    const rule = changes.find((c) => c.what === 'rule 1001: from 192.0.2.0/24 lookup 500');
    assert.deepEqual(argvs(rule), [
      'sh -c while ip -4 rule del pref 1001 protocol 241 2>/dev/null; do :; done; while ip -4 rule del pref 1001 from 192.0.2.0/24 lookup 500 2>/dev/null; do :; done; ip -4 rule add pref 1001 from 192.0.2.0/24 lookup 500 protocol 241',
    ]);
    assert.ok(lines.some((l) => l.startsWith('+ rule (IPv6) 1000: iif eth1 lookup 500')));
    assert.ok(changes.every((c) => c.action !== 'delete'));
  });

  test("seed004 node1 applied, the plan's steering gone: its rules and table routes deleted, only ours", () => {
    const desired = desiredOfNode('seed004-insert', 'node1');
    const without = { ...desired, rules: [], routes: desired.routes.filter((r) => r.table === undefined) };
    const { changes } = changesOf('seed004-insert-node1-applied', without);
    assert.ok(
      changes.length > 0 && changes.every((c) => c.action === 'delete'),
      changes.map(changeLine).join('\n'),
    );
    assert.deepEqual(argvs(changes.find((c) => c.what.startsWith('rule 2008'))), [
      'sh -c while ip -4 rule del pref 2008 protocol 241 2>/dev/null; do :; done',
    ]);
    // Deleting a route names its protocol: a foreign one of the same destination stays.
    assert.ok(changes.filter((c) => c.part === 'routes').every((c) => argvs(c)[0]?.includes(' proto 241 ')));
    assert.ok(!changes.some((c) => c.what.includes('3000') || c.what.includes('table 77')));
  });

  test('a checkpoint of the applied host is that host: applying it changes nothing', () => {
    const desired = desiredOfNode('routed-flat', 'node2');
    const { io, live } = changesOf('routed-flat-node2-applied', desired);
    const record = recordOf(desired);
    const snapshot = snapshotHost(live, record, desired, { routes: [], rules: [] });
    const checkpoint: Desired = { ...desired, ...snapshot, sysctls: [] };
    assert.deepEqual(hostChanges({ ...live, record }, checkpoint, []).map(changeLine), []);
    assert.deepEqual(
      snapshot.bridges.map((b) => [b.name, b.ports, b.source]),
      [['br0', ['eth0'], 'nodes.node2']],
    );
    assert.equal(snapshot.rules.length, desired.rules.length);
    assert.ok(io);
  });

  test("a first apply's checkpoint holds the uplink an installer left (bridge, address, proto boot route): a rollback gives it back", () => {
    const desired = desiredOfNode('part4-stateless', 'node1');
    const { live: applied } = changesOf('part4-stateless-node1-applied', desired);
    // The host before: xenbr0 with eth0, its address and a default route of proto boot, no alias.
    const before: HostState = {
      links: applied.links
        .filter((l) => l.ifname !== 'guestbr0')
        .map(
          ({ ifalias: _, ...l }) => (l.ifname === 'eth1.100' ? { ...l, master: undefined } : l) as LiveLink,
        ),
      addresses: applied.addresses.filter((a) => a.dev !== 'guestbr0'),
      routes: [],
      rules: [],
      record: { addresses: [], ports: {} },
    };
    const boot = applied.routes.map((r) => ({ ...r, protocol: 3 }));
    const checkpoint: Desired = {
      ...desired,
      ...snapshotHost(before, before.record, desired, { routes: boot, rules: [] }),
      sysctls: [],
    };
    const record = recordUnion(before.record, desired);
    const changes = hostChanges({ ...applied, record }, checkpoint, []);
    assert.deepEqual(changes.map(changeLine), [
      '~ bridge xenbr0: alias convergent: nodes.node1 -> (none)  (checkpoint)',
      '- bridge guestbr0: no longer in the spec',
      '- address 10.5.5.254/24 dev guestbr0',
      '- address 10.5.5.251/24 dev guestbr0',
      '~ route default: proto 241 -> 3  (checkpoint)',
    ]);
    assert.deepEqual(argvs(changes[0]), ['ip link set dev xenbr0 alias ']);
    assert.deepEqual(argvs(changes[4]), [
      'ip route replace default via 192.168.122.1 dev xenbr0 metric 0 proto 3',
    ]);
    // After the rollback the record names none of them: they are the installer's again.
    assert.deepEqual(recordOf(checkpoint).addresses, []);
    // Rolled back: nothing more to do, and convergent's route of that key is gone, so nothing either.
    const rolled: HostState = { ...before, record: recordOf(checkpoint) };
    assert.deepEqual(hostChanges(rolled, checkpoint, []).map(changeLine), []);
  });

  test("a guest's port on a bridge of convergent's is not in the checkpoint: it may leave before the rollback", () => {
    const desired = desiredOfNode('part4-stateless', 'node1');
    const { live } = changesOf('part4-stateless-node1-applied', desired);
    const record = recordOf(desired);
    // libvirt's vnet0 (a veth here, no alias) and a tap of `nic up` on guestbr0.
    const guests = [
      link('vnet0', { master: 'guestbr0', linkinfo: { info_kind: 'veth' } }),
      link('tap5', { master: 'guestbr0', ifalias: 'convergent m=02:00:00:00:00:05' }),
    ];
    const snapshot = snapshotHost({ ...live, links: [...live.links, ...guests] }, record, desired, {
      routes: [],
      rules: [],
    });
    assert.deepEqual(
      snapshot.bridges.map((b) => [b.name, b.ports]),
      [
        ['xenbr0', ['eth0']],
        ['guestbr0', ['eth1.100']],
      ],
    );
    assert.deepEqual(
      snapshot.links.map((l) => l.name),
      ['eth0', 'eth1.100'],
    );
    // The guest migrated away: the rollback finds nothing to do and refuses nothing.
    const checkpoint: Desired = { ...desired, ...snapshot, sysctls: [] };
    assert.deepEqual(hostChanges({ ...live, record }, checkpoint, []).map(changeLine), []);
  });
});

// Live links as `ip -d -j link` shows them, for ganeti-seed node1 (a bond of eno1 and eno2, VLANs on it).
const link = (ifname: string, more: Partial<LiveLink> = {}): LiveLink => ({
  ifname,
  mtu: 1500,
  flags: ['BROADCAST', 'MULTICAST', 'UP'],
  ...more,
});
const bond = (mode: string, more: Partial<LiveLink> = {}) =>
  link('bond0', {
    mtu: 9000,
    ifalias: 'convergent: interfaces.bond0',
    linkinfo: { info_kind: 'bond', info_data: { mode, miimon: 100 } },
    ...more,
  });

function seedState(links: LiveLink[], record: HostState['record'] = { addresses: [], ports: {} }): HostState {
  return { links, addresses: [], routes: [], rules: [], record };
}

const seed = () => desiredOfNode('ganeti-seed', 'node1');
const linksOnly = (d: Desired): Desired => ({ ...d, addresses: [], routes: [], rules: [], sysctls: [] });

describe('apply, host part: bonds, VLANs and what it refuses', () => {
  test('a bare node with two NICs: their MTU (no up: the bond brings its slaves up), the bond, its VLANs', () => {
    const changes = hostChanges(
      seedState([link('lo'), link('eno1', { flags: [] }), link('eno2')]),
      linksOnly(seed()),
      [],
    );
    assert.equal(changeLine(changes[0] as Change), '~ nic eno1: mtu 1500 -> 9000  (interfaces.eno1)');
    assert.deepEqual(argvs(changes[0]), ['ip link set dev eno1 mtu 9000']);
    const b = changes.find((c) => c.what === 'bond bond0');
    assert.deepEqual(argvs(b).slice(0, 3), [
      'ip link add bond0 type bond mode active-backup',
      'ip link set dev bond0 type bond miimon 100',
      'ip link set dev bond0 alias convergent: interfaces.bond0',
    ]);
    // The slave goes down only to join: network.sh's enslave, which leaves one in the bond as it is.
    assert.match(
      argvs(b)[3] as string,
      /^sh -c [\s\S]*enslave\(\) \{[\s\S]*grep -q " master \$2 "[\s\S]*\nenslave eno1 bond0$/,
    );
    const vlan = changes.find((c) => c.what === 'vlan bond0.104');
    assert.deepEqual(argvs(vlan), [
      'ip link add link bond0 name bond0.104 type vlan id 104',
      'ip link set dev bond0.104 alias convergent: networks.vlan104',
      'ip link set dev bond0.104 mtu 9000 up',
    ]);
  });

  test('a bond in another mode with slaves: refused before anything runs, with what to do', () => {
    const live = [link('eno1', { mtu: 9000, master: 'bond0' }), link('eno2', { mtu: 9000, master: 'bond0' })];
    assert.throws(
      () => hostChanges(seedState([...live, bond('802.3ad')]), linksOnly(seed()), []),
      (e: unknown) =>
        e instanceof HostRefusal &&
        /bond bond0 \(interfaces\.bond0\): in mode 802\.3ad, the spec says active-backup: a bond changes mode only without slaves \(eno1 eno2\)\n {2}fix: ip link del bond0/.test(
          e.message,
        ),
    );
  });

  test('a bond in another mode without slaves: down, mode, then its slaves and up', () => {
    const changes = hostChanges(
      seedState([link('eno1', { mtu: 9000 }), link('eno2', { mtu: 9000 }), bond('balance-rr')]),
      linksOnly(seed()),
      [],
    );
    const b = changes.find((c) => c.what === 'bond bond0');
    assert.equal(b?.detail?.split(', ').slice(0, 1)[0], 'mode balance-rr -> active-backup');
    assert.deepEqual(argvs(b).slice(0, 2), [
      'ip link set dev bond0 down',
      'ip link set dev bond0 type bond mode active-backup',
    ]);
    assert.equal(argvs(b).at(-1), 'ip link set dev bond0 up');
  });

  test('a missing NIC and a link of the wrong kind: one refusal naming both', () => {
    const live = [link('eno2'), link('bond0', { linkinfo: { info_kind: 'dummy' } })];
    assert.throws(
      () => hostChanges(seedState(live), linksOnly(seed()), []),
      (e: unknown) =>
        e instanceof HostRefusal &&
        e.refusals.length === 2 &&
        /nic eno1 .*no such link on this host/.test(e.message) &&
        /bond0 exists but is no bond \(dummy\)/.test(e.message),
    );
  });

  test("a stale bridge of convergent's: deleted with its recorded ports, refused with a guest's tap on it", () => {
    const desired = linksOnly(desiredOfNode('part4-stateless', 'node1'));
    const old = link('oldbr', { ifalias: 'convergent: networks.old', linkinfo: { info_kind: 'bridge' } });
    const port = link('eth2', { master: 'oldbr' });
    const base = [link('eth0', { master: 'xenbr0' }), link('eth1.100', { master: 'guestbr0' })];
    const record = { addresses: [], ports: { oldbr: ['eth2'] } };
    const ok = hostChanges(seedState([...base, old, port], record), desired, []).filter(
      (c) => c.action === 'delete',
    );
    assert.deepEqual(ok.map(changeLine), ['- bridge oldbr: no longer in the spec']);
    const tap = link('tap3', { master: 'oldbr', ifalias: 'convergent m=52:54:00:00:00:01' });
    assert.throws(
      () => hostChanges(seedState([...base, old, port, tap], record), desired, []),
      /bridge oldbr \(convergent: networks\.old\): no longer in the spec, but tap3 is not convergent's and still on it\n {2}fix: unplug ip link set dev tap3 nomaster/,
    );
  });

  test("a foreign link's port on one of ours is left there", () => {
    const desired = linksOnly(desiredOfNode('part4-stateless', 'node1'));
    const bridge = (name: string, source: string) =>
      link(name, {
        ifalias: `convergent: ${source}`,
        linkinfo: {
          info_kind: 'bridge',
          info_data: { stp_state: 0, nf_call_iptables: 0, mcast_snooping: 1 },
        },
      });
    const live = [
      bridge('xenbr0', 'nodes.node1'),
      link('eth0', { master: 'xenbr0' }),
      link('docker-veth', { master: 'xenbr0' }),
    ];
    const changes = hostChanges(seedState(live), { ...desired, bridges: desired.bridges.slice(0, 1) }, []);
    assert.deepEqual(changes.map(changeLine), []);
  });
});

describe('apply, host part: addresses, routes, sysctls', () => {
  const part4 = () => desiredOfNode('part4-stateless', 'node1');

  test('only recorded addresses are deleted; a foreign one on the same bridge stays', () => {
    const { live } = changesOf('part4-stateless-node1-applied', part4());
    const addresses = [
      ...live.addresses,
      { dev: 'xenbr0', cidr: '192.168.122.99/24' },
      { dev: 'guestbr0', cidr: '10.9.9.9/24' },
    ];
    const record = { addresses: [{ dev: 'guestbr0', cidr: '10.9.9.9/24' }], ports: {} };
    const changes = hostChanges({ ...live, addresses, record }, { ...part4(), sysctls: [] }, []);
    assert.deepEqual(changes.map(changeLine), ['- address 10.9.9.9/24 dev guestbr0']);
  });

  test('a changed gateway is one replace; a sysctl whose module is not loaded is skipped when optional', () => {
    const { live } = changesOf('part4-stateless-node1-applied', part4());
    const routes = live.routes.map((r) => ({ ...r, gateway: '192.168.122.2' }));
    const desired: Desired = {
      ...part4(),
      sysctls: [
        { key: ['net', 'bridge', 'bridge-nf-call-iptables'], value: '1', optional: true },
        { key: ['net', 'ipv4', 'ip_forward'], value: '1' },
      ],
    };
    const changes = hostChanges({ ...live, routes }, desired, [undefined, '0']);
    assert.deepEqual(changes.map(changeLine), [
      '~ route default: via 192.168.122.2 -> 192.168.122.1  (uplink.gateway)',
      '~ sysctl net.ipv4.ip_forward: 0 -> 1',
    ]);
    assert.deepEqual(argvs(changes[1]), ['sysctl -q -w net.ipv4.ip_forward=1']);
  });
});

describe('apply, host part: the record in the state dir', () => {
  test('an empty or corrupt host.json is an ApplyError naming the file and the fix, not a SyntaxError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvg-record-'));
    try {
      for (const text of ['', '{"addresses": [', 'null', '[1]']) {
        writeFileSync(join(dir, RECORD_FILE), text);
        assert.throws(
          () => readRecord(dir),
          (err: unknown) =>
            err instanceof ApplyError &&
            err.message.includes(join(dir, RECORD_FILE)) &&
            err.fix?.startsWith(`delete it (rm ${join(dir, RECORD_FILE)})`) === true,
          JSON.stringify(text),
        );
      }
      const record = {
        addresses: [{ dev: 'xenbr0', cidr: '192.168.122.11/24' }],
        ports: { xenbr0: ['eth0'] },
      };
      writeRecord(dir, record);
      assert.deepEqual(readRecord(dir), record);
      // Written through a temp file that is renamed: nothing else is left in the state dir.
      assert.deepEqual(readdirSync(dir), [RECORD_FILE]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
