// `convergent nic up|down` on a node in a scratch namespace, with the node's own rendered files:
// twice is once, down leaves nothing of the tap, what the spec does not know is refused, and nothing
// changes without the ruleset. Real frames through plugged taps: nic-frames.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { cli, LAN, node, specFile, state } from '../support/nic-lab.ts';
import { needsRoot } from '../support/root.ts';

describe('nic up|down on a node', () => {
  test('twice is once, down leaves nothing of the tap, a tap or guest the spec does not know is refused', (t) => {
    if (!needsRoot(t)) return;
    const file = specFile('lan', LAN);
    const run = new NamespaceRun();
    try {
      const n = node(run, file, 'brlan');
      n.sh(['ip', 'link', 'add', 'tap5', 'type', 'veth', 'peer', 'name', 'guest5']);
      const before = state(n.sh);
      const first = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(
        first.stdout,
        'nic web:0 on tap5: bridge brlan mtu 9000, anti-spoofing 52:54:00:20:00:10 172.20.0.10 2001:db8::10, profile protected\n',
      );
      const once = state(n.sh);
      const second = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web:0', '--tap', 'tap5');
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(state(n.sh), once, 'nic up twice leaves what once did');
      const tap = JSON.parse(n.sh(['ip', '-j', 'link', 'show', 'dev', 'tap5']))[0];
      assert.equal(tap.master, 'brlan');
      assert.equal(tap.mtu, 9000);
      // A record on the tap that nft disagrees with (another verdict), or none at all: the sets are read.
      for (const alias of ['convergent f>limited', '']) {
        n.sh(['ip', 'link', 'set', 'dev', 'tap5', 'alias', alias]);
        const r = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          state(n.sh),
          once,
          `with alias ${JSON.stringify(alias)}, nic up again leaves what once did`,
        );
      }
      // Another guest's NIC on the same tap: nothing of web's stays.
      const other = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'bastion', '--tap', 'tap5');
      assert.equal(other.code, 0, other.stderr);
      const ports = n.sh(['nft', 'list', 'table', 'bridge', 'convergent_ports']);
      assert.doesNotMatch(ports, /52:54:00:20:00:10|172\.20\.0\.10|protected }/);
      assert.match(ports, /"tap5" \. 52:54:00:20:00:11 \. 172\.20\.0\.11/);
      const back = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(state(n.sh), once, 'web plugged back leaves what once did');

      for (const [args, said] of [
        [['--nic', 'nobody', '--tap', 'tap5'], 'the spec has no guest "nobody"'],
        [['--nic', 'web:3', '--tap', 'tap5'], 'guest web has no NIC 3'],
        [['--nic', 'other', '--tap', 'tap5'], 'guest other is on node n2 in the spec, not on n1'],
        [['--nic', 'bastion', '--tap', 'tap9'], 'no interface tap9 on this node'],
      ] as const) {
        const r = cli(n.ns, 'up', file, '--node', 'n1', ...args);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`refused, nothing changed: ${said}.*\\n  fix: `));
        assert.deepEqual(state(n.sh), once, `${args.join(' ')} changed nothing`);
      }

      const down = cli(n.ns, 'down', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stdout, 'nic down tap5 on n1: 6 elements removed, out of bridge brlan\n');
      const after = state(n.sh);
      for (const [what, text] of Object.entries(after)) {
        if (what === 'links') continue; // the tap itself is the hypervisor's: it stays until it goes
        assert.doesNotMatch(text, /tap5/, `${what} still mentions tap5`);
      }
      assert.equal(JSON.parse(n.sh(['ip', '-j', 'link', 'show', 'dev', 'tap5']))[0].master, undefined);
      assert.equal(after.ruleset, before.ruleset, 'the ruleset is as before nic up');

      // After the guest stopped, its tap is gone: not an error.
      n.sh(['ip', 'link', 'del', 'tap5']);
      const gone = cli(n.ns, 'down', file, '--node', 'n1', '--tap', 'tap5', '--local-only');
      assert.equal(gone.code, 0, gone.stderr);
      assert.equal(gone.stdout, 'nic down tap5 on n1: 0 elements removed, tap5 is gone\n');
    } finally {
      run.cleanup();
    }
  });

  test('without the ruleset loaded, nic up refuses and names the fix', (t) => {
    if (!needsRoot(t)) return;
    const file = specFile('lan', LAN);
    const run = new NamespaceRun();
    try {
      const ns = run.add('bare');
      run.exec(
        ns,
        ['ip', '-batch', '-'],
        'link add brlan type bridge\nlink add tap5 type veth peer name g5\n',
      );
      const r = cli(ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /table bridge convergent_ports is not loaded on this node.*\n {2}fix: .*nft -f nftables\.conf/,
      );
      assert.equal(
        JSON.parse(run.exec(ns, ['ip', '-j', 'link', 'show', 'dev', 'tap5']).stdout)[0].master,
        undefined,
      );
    } finally {
      run.cleanup();
    }
  });
});
