// The lab of strategy ctsync: conntrackd replicates conntrack state between the nodes; every check
// passes, connections survive a node cut and a migration, and br_netfilter's clash is a fault.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { realRunner } from '../../src/lab/run.ts';
import { applyToLab } from '../../src/systems/cluster/lab/apply.ts';
import { labTest, labUp, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { leftThrough } from '../../src/systems/cluster/lab/probe.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import {
  assertRingHeldAcrossCut,
  assertSurvived,
  checksAfterMove,
  holdAll,
  quiet,
  result,
  run,
  upAndMove,
} from '../support/lab-examples.ts';
import { failedNames } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

const ctsync2 = join(EXAMPLES_DIR, 'part3-ctsync.yaml');
const ctsync3 = join(EXAMPLES_DIR, 'ring3-ctsync.yaml');

describe('lab: CT-SYNC, conntrack state replicated by conntrackd', () => {
  test('two nodes: every check passes; the guest sees the workstation; its node holds the flow conntrackd replicated', async (t) => {
    if (!needsRoot(t)) return;
    const p = prepare(ctsync2);
    const { lab, run: labRun } = await labUp(p, { progress: quiet });
    try {
      // The real daemon, one per node, each in its node's network namespace.
      const daemons = lab.state.pids.filter(
        (pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conntrackd',
      );
      assert.equal(daemons.length, 2);
      const netnsOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/net`);
      const nodeNetns = ['node1', 'node2'].map((n) =>
        realRunner(['ip', 'netns', 'exec', lab.ns(n), 'readlink', '/proc/self/ns/net']).stdout.trim(),
      );
      assert.deepEqual(daemons.map(netnsOf).sort(), [...nodeNetns].sort());

      const report = await runChecks(lab, p, quiet);
      assert.deepEqual(failedNames(report), []);
      const crossed = result(report, 'curl node2 -> guest1 (crossed)');
      assert.equal(crossed.saw, '198.51.100.10', 'the guest sees the client itself');
      assert.equal(crossed.replyFrom, '192.168.122.12:80', 'the reply comes from the address dialled');
      // Out through guest1's node; what outran the sync (the SYN-ACK at least) through node2.
      assert.equal(crossed.enters, 'node2');
      assert.ok(leftThrough(crossed, 'node1'), `leaves ${crossed.leaves}`);
      const udp = result(report, 'U3 udp/123 via foreign -> guest1');
      assert.equal(udp.replyFrom, '192.168.122.12:123');
      assert.ok(leftThrough(udp, 'node1'), `leaves ${udp.leaves}`);
      // The replies that outran the sync (the SYN-ACKs through a foreign node, at least) went back
      // to the entering node; none was dropped to wait for the guest's resend a second later.
      const counted = (node: string, chain: string) => {
        const r = realRunner([
          'ip',
          'netns',
          'exec',
          lab.ns(node),
          'nft',
          '-j',
          'list',
          'chain',
          'ip',
          'convergent',
          chain,
        ]);
        const doc = JSON.parse(r.stdout) as {
          nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
        };
        return doc.nftables
          .flatMap((o) => o.rule?.expr ?? [])
          .reduce((n, e) => n + (e.counter?.packets ?? 0), 0);
      };
      const bounced = counted('node1', 'ctsync-bounce') + counted('node2', 'ctsync-bounce');
      assert.ok(bounced >= 1, `replies sent back to the entering node: ${bounced}`);
      assert.deepEqual(
        ['node1', 'node2'].map((n) => counted(n, 'ctsync-forward')),
        [0, 0],
        'no reply dropped while its entry was on its way',
      );
      assert.equal(result(report, 'U1 proxy on node2 -> guest1').saw, '10.5.5.252');

      // node1 never saw the SYN as a router: its entry for the flow is the one node2 created,
      // DNAT and all, written into its table by conntrackd.
      const node1 = realRunner(['ip', 'netns', 'exec', lab.ns('node1'), 'conntrack', '-L']).stdout;
      assert.match(
        node1,
        new RegExp(
          `src=198\\.51\\.100\\.10 dst=192\\.168\\.122\\.12 sport=${crossed.clientPort} dport=80 .*src=10\\.5\\.5\\.201 dst=198\\.51\\.100\\.10 sport=80 dport=${crossed.clientPort}`,
        ),
      );
      // The sync, as each daemon counts it: messages both ways, flows injected, nothing failed.
      assert.equal(report.sync?.length, 2);
      for (const s of report.sync ?? []) {
        assert.ok(s.sent > 0 && s.received > 0, `${s.node} sends and receives: ${JSON.stringify(s)}`);
        assert.ok(s.injected > 0, `${s.node} injected flows of the other node`);
        assert.equal(s.injectFailed, 0);
      }
    } finally {
      labRun.cleanup();
    }
    for (const pid of lab.state.pids)
      assert.ok(
        !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '),
        `process ${pid} ended`,
      );
  });

  test('two nodes: connections open through either node survive guest1 moving to node2', async (t) => {
    if (!needsRoot(t)) return;
    const { lab, p, labRun, before, moved } = await upAndMove(ctsync2, 'guest1', 'node2');
    try {
      const held = await holdAll(lab, p, [
        'ssh -p 2201 via host -> guest1',
        'ssh -p 2201 via foreign -> guest1',
      ]);
      await applyToLab(lab, moved, quiet);
      // Replies now leave through node2, which holds both flows from the sync.
      await assertSurvived(held, 'guest1');
      const report = await checksAfterMove(lab, moved, before);
      const foreign = result(report, 'ssh -p 2201 via foreign -> guest1');
      assert.equal(foreign.enters, 'node1');
      assert.ok(leftThrough(foreign, 'node2'), `leaves ${foreign.leaves}`);
    } finally {
      labRun.cleanup();
    }
  });

  test('fault: with br_netfilter on, the replicated entry clashes with the bridged copy; foreign flows fail', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(ctsync2, ['ctsync-bridge-netfilter']);
    assert.deepEqual(failedNames(report).sort(), [
      'U3 udp/123 via foreign -> guest1',
      'curl node1 -> guest2 (crossed)',
      'curl node2 -> guest1 (crossed)',
      'ssh -p 2201 via foreign -> guest1',
      'ssh -p 2202 via foreign -> guest2',
    ]);
    // The guest's node un-NATs nothing: the reply leaves with the guest's own address.
    assert.equal(result(report, 'U3 udp/123 via foreign -> guest1').replyFrom, '10.5.5.201:123');
    const crossed = result(report, 'curl node2 -> guest1 (crossed)');
    assert.ok(
      crossed.evidence?.wire.some((w) => /node1 .*xenbr0 Out .*10\.5\.5\.201\.80 > 198\.51\.100\.10/.test(w)),
      crossed.evidence?.wire.join('\n'),
    );
  });

  test('three nodes in a ring (NOTRACK): all checks pass; node1 cut: the rest works, held connections survive', async (t) => {
    if (!needsRoot(t)) return;
    const report = await labTest(prepare(ctsync3), { progress: quiet, cut: 'node1' });
    assert.ok(!realRunner(['ip', 'netns', 'list']).stdout.includes(report.lab));
    assert.deepEqual(failedNames(report), []);
    assert.equal(report.results.length, 12 + 3 * 4);
    // Every node received the others' flows.
    assert.deepEqual(
      report.sync?.map((s) => [s.node, s.injected > 0]),
      [
        ['node1', true],
        ['node2', true],
        ['node3', true],
      ],
    );
    const after = report.afterCut?.report;
    assert.ok(after);
    assert.deepEqual(failedNames(after), []);
    assertRingHeldAcrossCut(report);
  });

  test('three nodes in a ring: lab apply moves guest1 to node3; every check passes again', async (t) => {
    if (!needsRoot(t)) return;
    const { lab, labRun, before, moved } = await upAndMove(ctsync3, 'guest1', 'node3');
    try {
      const moves = await applyToLab(lab, moved, quiet);
      assert.deepEqual(moves, [{ guest: 'guest1', from: 'node1', to: 'node3' }]);
      const report = await checksAfterMove(lab, moved, before);
      const viaNode2 = result(report, 'http/80 via node2 -> guest1');
      assert.equal(viaNode2.enters, 'node2');
      assert.ok(leftThrough(viaNode2, 'node3'), `leaves ${viaNode2.leaves}`);
    } finally {
      labRun.cleanup();
    }
  });
});
