// `convergent apply|diff|rollback` as root on a bare node (test/support/apply-rig.ts): part4's node1
// loaded from nothing and again without a change, the foreign table kept; a change that cuts the
// uplink rolled back by itself; an unconfirmed apply rolled back by its watchdog; and an apply killed
// (SIGKILL) after its checkpoint, after its journal and between changes, then completed or rolled
// back, leaving exactly the old state or the new one.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readJournal } from '../../src/apply/state.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import {
  cleanState,
  dump,
  killAt,
  PART4,
  type Rig,
  rig,
  until,
  watchdogAlive,
} from '../support/apply-rig.ts';
import { needsRoot } from '../support/root.ts';

const NODE = ['--node', 'node1'];
/** node1 moved to another address on the guest network, and one forward more: every part changes. */
const moved = (r: Rig) =>
  r.spec('moved', (t) =>
    t
      .replace('node1: 10.5.5.251', 'node1: 10.5.5.241')
      .replace(
        '  - { port: 80, to: guest1 }',
        '  - { port: 80, to: guest1 }\n  - { port: 8443, to: guest1, toPort: 443 }',
      ),
  );
/** The upstream router at an address nobody has: the node is cut off. */
const cut = (r: Rig) =>
  r.spec('cut', (t) => t.replace('gateway: 192.168.122.1 ', 'gateway: 192.168.122.254 '));

function applied(r: Rig, file: string, ...more: string[]) {
  const out = r.cli(['apply', file, ...NODE, ...more]);
  assert.equal(out.code, 0, `apply ${file}: ${out.stdout}${out.stderr}`);
  return out;
}

/** Old and new states of the node: part4 applied, and `moved` applied, dumped. */
function states(r: Rig) {
  applied(r, PART4);
  const old = dump(r);
  applied(r, moved(r));
  const fresh = dump(r);
  applied(r, PART4);
  assert.deepEqual(dump(r), old, 'part4 again after moved: the same state as before');
  return { old, fresh };
}

describe('convergent apply on a host', () => {
  test('part4 node1 from nothing; again changes nothing; diff exits 0; the foreign table stays', (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      const first = applied(r, PART4);
      assert.match(first.stdout, /^\+ bridge xenbr0/m);
      assert.match(first.stdout, /^node1: applied \d+ changes\n$/m);
      assert.match(r.sh(['nft', 'list', 'tables']), /^table ip convergent$/m);
      const once = dump(r);
      const again = applied(r, PART4);
      assert.equal(again.stdout, 'node1: no change\n');
      assert.deepEqual(dump(r), once, 'a second apply leaves the ruleset, addresses and routes as they were');
      const d = r.cli(['diff', PART4, ...NODE]);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.equal(d.stdout, `node1: matches ${PART4}\n`);
      assert.match(r.sh(['nft', 'list', 'table', 'inet', 'foreign']), /tcp dport 9999 counter/);
      const changed = r.cli(['diff', moved(r), ...NODE]);
      assert.equal(changed.code, 5, changed.stderr);
      assert.match(
        changed.stdout,
        /^~ addresses dev guestbr0: 10\.5\.5\.251\/24 10\.5\.5\.254\/24 -> 10\.5\.5\.241\/24 /m,
      );
    } finally {
      run.cleanup();
    }
  });

  test('a change that cuts the uplink is rolled back at once by the health check', (t) => {
    if (!needsRoot(t, 'ping')) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      applied(r, PART4);
      const before = dump(r);
      const started = Date.now();
      const out = r.cli(['apply', cut(r), ...NODE, '--confirm-within', '60s']);
      assert.equal(out.code, 6, out.stdout + out.stderr);
      assert.ok(Date.now() - started < 60_000, 'within the confirm window');
      assert.match(out.stderr, /rolled back .*the uplink gateway 192\.168\.122\.254 does not answer/);
      assert.deepEqual(dump(r), before);
      assert.ok(!existsSync(join(r.state, 'journal.json')));
    } finally {
      run.cleanup();
    }
  });

  test('a blackhole rule fails the gateway check: the kernel would take a bound ping to it as on-link', (t) => {
    if (!needsRoot(t, 'ping')) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      applied(r, PART4);
      r.sh(['ip', 'rule', 'add', 'pref', '100', 'blackhole']);
      const before = dump(r);
      const out = r.cli(['apply', moved(r), ...NODE, '--confirm-within', '30s']);
      assert.equal(out.code, 6, out.stdout + out.stderr);
      assert.match(
        out.stderr,
        /rolled back .*1\.1\.1\.1 is not routed via the uplink gateway 192\.168\.122\.1 on xenbr0 \(RTNETLINK answers: /,
      );
      assert.deepEqual(dump(r), before);
    } finally {
      run.cleanup();
    }
  });

  test('an apply without a confirm is rolled back by its watchdog; a confirmed one stays', async (t) => {
    if (!needsRoot(t, 'ping')) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      const { old, fresh } = states(r);
      const out = applied(r, moved(r), '--confirm-within', '4s');
      const returned = Date.now();
      assert.match(out.stdout, /healthy; confirm with `convergent apply --confirm` within 4 s/);
      // The window starts once the node is healthy: the whole 4 s are the operator's.
      const deadline = Date.parse(readJournal(r.state)?.deadline ?? '');
      assert.ok(deadline >= returned + 3000, `the deadline ${deadline - returned} ms after apply returned`);
      const watchdog = readJournal(r.state)?.watchdog as number;
      assert.ok(watchdogAlive(watchdog, r.state));
      assert.deepEqual(dump(r), fresh);
      await until(() => !existsSync(join(r.state, 'journal.json')), 30_000, 'the watchdog rolls back');
      assert.deepEqual(dump(r), old);
      await until(() => !watchdogAlive(watchdog, r.state), 5_000, 'the watchdog ends');
      // A confirm too late fails (Ansible stops there), saying the apply was rolled back and why.
      const late = r.cli(['apply', '--confirm']);
      assert.equal(late.code, 6, late.stdout + late.stderr);
      assert.match(
        late.stderr,
        /^convergent: nothing to confirm: the apply \S+ of node1 was rolled back at \S+: no `convergent apply --confirm` by /,
      );
      applied(r, moved(r), '--confirm-within', '30s');
      const kept = readJournal(r.state)?.watchdog as number;
      const c = r.cli(['apply', '--confirm']);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /^confirmed: node1 keeps the apply /);
      await until(() => !watchdogAlive(kept, r.state), 5_000, 'apply --confirm ends the watchdog');
      assert.deepEqual(dump(r), fresh);
      const again = r.cli(['apply', '--confirm']);
      assert.equal(again.code, 7, again.stdout + again.stderr);
      assert.match(again.stderr, /^convergent: nothing to confirm: no apply awaits confirmation/);
    } finally {
      run.cleanup();
    }
  });

  test('SIGTERM or SIGINT between changes: apply rolls back by itself, exit 6', async (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      const { old } = states(r);
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        const { out, code } = await killAt(r, 'change-2', ['apply', moved(r), ...NODE], signal, 1500);
        assert.equal(code, 6, out);
        assert.match(out, new RegExp(`node1: rolled back to the state before: interrupted by ${signal}`));
        assert.deepEqual(dump(r), old, signal);
        assert.ok(!existsSync(join(r.state, 'journal.json')));
      }
    } finally {
      run.cleanup();
    }
  });

  test('SIGKILL of apply at each point, then the watchdog, apply or rollback: the old state or the new', async (t) => {
    if (!needsRoot(t, 'ping')) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      const { old, fresh } = states(r);
      const changes = (
        JSON.parse(r.cli(['diff', moved(r), ...NODE, '--json']).stdout) as { changes: unknown[] }
      ).changes.length;
      assert.ok(changes >= 4, `moved changes every part (${changes} changes)`);
      const points = [
        'checkpoint',
        'journal',
        'change-2',
        `change-${Math.ceil(changes / 2) + 1}`,
        `change-${changes}`,
      ];
      for (const point of points)
        for (const next of ['apply', 'rollback', 'watchdog'] as const) {
          const what = `killed at ${point}, then ${next}`;
          await killAt(r, point, [
            'apply',
            moved(r),
            ...NODE,
            ...(next === 'watchdog' ? ['--confirm-within', '60s'] : []),
          ]);
          if (next === 'apply') {
            applied(r, moved(r));
            assert.deepEqual(dump(r), fresh, what);
            const d = r.cli(['diff', moved(r), ...NODE]);
            assert.equal(d.code, 0, `${what}: diff says moved: ${d.stdout}${d.stderr}`);
            applied(r, PART4);
          } else if (next === 'rollback') {
            const out = r.cli(['rollback']);
            assert.equal(out.code, 0, `${what}: ${out.stderr}`);
            assert.deepEqual(dump(r), old, what);
          } else {
            // Killed before the watchdog started (checkpoint): nothing changed, nothing to wait for.
            await until(() => !existsSync(join(r.state, 'journal.json')), 30_000, `${what}: rolled back`);
            assert.deepEqual(dump(r), old, what);
          }
          assert.ok(!existsSync(join(r.state, 'journal.json')), what);
        }
      cleanState(r);
    } finally {
      run.cleanup();
    }
  });
  test("rolling back a first apply gives an installer's uplink back: xenbr0, its address, the proto boot route", (t) => {
    if (!needsRoot(t, 'ping')) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      // As an installer (ifupdown) leaves a Xen host: xenbr0 with eth0, the node's address, the route.
      r.sh(['ip', 'link', 'add', 'xenbr0', 'type', 'bridge']);
      r.sh(['ip', 'link', 'set', 'eth0', 'master', 'xenbr0', 'up']);
      r.sh(['ip', 'link', 'set', 'xenbr0', 'up']);
      r.sh(['ip', 'link', 'set', 'eth1.100', 'up']);
      r.sh(['ip', 'addr', 'add', '192.168.122.11/24', 'dev', 'xenbr0']);
      r.sh(['ip', 'route', 'add', 'default', 'via', '192.168.122.1', 'dev', 'xenbr0', 'proto', 'boot']);
      const before = dump(r);
      const out = applied(r, PART4, '--confirm-within', '60s');
      assert.match(out.stdout, /^~ bridge xenbr0: alias \(none\) -> convergent: nodes\.node1/m);
      const back = r.cli(['rollback']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.match(back.stdout, /^~ route default: proto 241 -> 3 {2}\(checkpoint\)$/m);
      assert.deepEqual(dump(r), before, 'xenbr0, its address and its proto boot route as they were');
      const diff = r.cli(['diff', PART4, ...NODE]);
      assert.match(
        diff.stdout,
        /^\+ route default {2}\(uplink\.gateway\)$/m,
        "the route is the installer's again",
      );
    } finally {
      run.cleanup();
    }
  });

  test("a guest's port that leaves a bridge of convergent's during the confirm window does not block the rollback", (t) => {
    if (!needsRoot(t, 'ping')) return;
    const run = new NamespaceRun();
    try {
      const r = rig(run);
      applied(r, PART4);
      // libvirt's vnet0 on guestbr0, not convergent's.
      r.sh(['ip', 'link', 'add', 'vnet0', 'type', 'veth', 'peer', 'name', 'vnet0p']);
      r.sh(['ip', 'link', 'set', 'vnet0', 'master', 'guestbr0', 'up']);
      const before = dump(r);
      applied(r, moved(r), '--confirm-within', '60s');
      r.sh(['ip', 'link', 'del', 'vnet0']);
      const back = r.cli(['rollback']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.doesNotMatch(back.stdout + back.stderr, /vnet0/);
      const gone = (d: Record<string, unknown>) =>
        (d.links as { ifname: string }[]).filter((l) => !l.ifname.startsWith('vnet0'));
      assert.deepEqual(gone(dump(r)), gone(before));
      assert.ok(!existsSync(join(r.state, 'journal.json')));
    } finally {
      run.cleanup();
    }
  });
});
