// The lab with real traffic: both seed examples pass their checks (the seeds' acceptance tests),
// the derived checks pass too, and each injected fault makes exactly the checks fail that the
// seeds' authors saw fail, with the evidence that explains why. No namespace survives a run.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { realRunner } from '../../src/lab/run.ts';
import { applyToLab } from '../../src/systems/cluster/lab/apply.ts';
import { labTest, labUp, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import {
  assertRingHeldAcrossCut,
  assertSurvived,
  checksAfterMove,
  holdAll,
  quiet,
  result,
  run,
  tmp,
  upAndMove,
  withoutChecks,
} from '../support/lab-examples.ts';
import { failedNames } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

const part3 = join(EXAMPLES_DIR, 'part3-fullnat.yaml');
const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');
const ring3 = join(EXAMPLES_DIR, 'ring3-stateless.yaml');

describe('lab: seed part 4, stateless NAT', () => {
  test('every check passes; the guest sees the workstation; replies leave through the hosting node', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part4);
    assert.deepEqual(failedNames(report), []);
    assert.equal(report.passed, 14);
    const a1 = result(report, 'A1 foreign state: curl via foreign -> guest1');
    assert.equal(a1.answered, 'guest1');
    assert.equal(a1.saw, '198.51.100.10', 'the guest sees the client itself');
    assert.equal(a1.enters, 'node2');
    assert.equal(a1.leaves, 'node1', 'and leaves through the node hosting guest1');
    const udp = result(report, 'udp/10123 via foreign -> guest2:123 (translated)');
    assert.equal(udp.replyFrom, '192.168.122.11:10123', 'the reply comes from the address and port dialled');
    assert.equal(udp.leaves, 'node2');
    const out = result(report, 'guest2 out via its host');
    assert.equal(out.saw, '192.168.122.12', 'outbound SNAT to the own node');
  });

  test('conntrack: the hosting node tags each flow with the entering node; the entering node keeps out', async (t) => {
    if (!needsRoot(t)) return;
    const p = prepare(part4);
    const { lab, run: labRun } = await labUp(p, { progress: quiet });
    try {
      const report = await runChecks(lab, p, quiet);
      assert.equal(report.failed, 0);
      const port = (name: string) => result(report, name).clientPort;
      const entries = (node: string) =>
        realRunner(['ip', 'netns', 'exec', lab.ns(node), 'conntrack', '-L']).stdout.split('\n');
      const flow = (node: string, clientPort: number) =>
        entries(node).filter((l) => l.includes(`src=198.51.100.10 `) && l.includes(`sport=${clientPort} `));
      // F9: node1 hosts guest1; the foreign flow carries node2's tag, the local one node1's.
      const foreign = port('A1 foreign state: curl via foreign -> guest1');
      const local = port('A2 local state: curl via host -> guest1');
      assert.match(flow('node1', foreign).join('\n'), /dst=10\.5\.5\.201 .*mark=2 /);
      assert.match(flow('node1', local).join('\n'), /dst=10\.5\.5\.201 .*mark=1 /);
      assert.deepEqual(flow('node2', foreign), [], 'node2 let the foreign flow in without tracking it');
    } finally {
      labRun.cleanup();
    }
  });

  test('migration: lab apply moves guest2 to node1; GARP moves its gateway; open connections survive', async (t) => {
    if (!needsRoot(t)) return;
    const { lab, p, labRun, before, moved } = await upAndMove(part4, 'guest2', 'node1');
    try {
      const gatewayEntry = () =>
        realRunner(['ip', 'netns', 'exec', lab.ns('guest2'), 'ip', 'neigh', 'show', '10.5.5.254']).stdout;
      assert.match(gatewayEntry(), /lladdr 0a:02:00:00:00:01/, "before: node2's guest bridge");
      const held = await holdAll(lab, p, [
        'ssh -p 2202 via foreign -> guest2',
        'ssh -p 2202 via host -> guest2',
      ]);

      const moves = await applyToLab(lab, moved, quiet);
      assert.deepEqual(moves, [{ guest: 'guest2', from: 'node2', to: 'node1' }]);
      // No traffic yet: only the gratuitous ARP can have changed the guest's entry.
      assert.match(gatewayEntry(), /lladdr 0a:01:00:00:00:01/, "after: node1's, from the GARP");
      const node2 = realRunner(['ip', 'netns', 'exec', lab.ns('node2'), 'conntrack', '-L']).stdout;
      assert.ok(!node2.includes('10.5.5.202'), `node2 keeps no state for guest2:\n${node2}`);
      await assertSurvived(held, 'guest2');

      // The spec's own checks, unchanged: "host" and "foreign" follow guest2 to node1.
      const report = await checksAfterMove(lab, moved, before);
      assert.equal(result(report, 'guest2 out via its host').saw, '192.168.122.11', 'out through node1');
      assert.equal(result(report, "guest2's gateway is its host alone").answered, 'node1');
      const viaHost = result(report, 'ssh -p 2202 via host -> guest2');
      assert.deepEqual([viaHost.enters, viaHost.leaves], ['node1', 'node1'], 'replies leave through node1');
      const viaForeign = result(report, 'ssh -p 2202 via foreign -> guest2');
      assert.deepEqual([viaForeign.enters, viaForeign.leaves], ['node2', 'node1']);
    } finally {
      labRun.cleanup();
    }
  });

  test('derived checks (no checks: in the spec) pass too', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(withoutChecks(part4, 'part4-derived.yaml'));
    assert.equal(report.derived, true);
    assert.deepEqual(failedNames(report), []);
    // 4 forwards x 2 nodes, and per guest: outbound tcp, ping, arp, one guest on another node.
    assert.equal(report.results.length, 8 + 2 * 4);
  });

  test('fault: the rewrite after conntrack (-150) breaks exactly the local flows, as in the seed', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part4, ['stateless-after-conntrack']);
    assert.deepEqual(failedNames(report).sort(), [
      'A2 local state: curl via host -> guest1',
      'ssh -p 2202 via host -> guest2',
      'udp/123 via host -> guest1',
    ]);
    // The UDP reply is taken for a new outbound flow and SNATed; its port collides with the
    // request's entry, so conntrack picks another: the client gets it from a port it never dialled.
    assert.match(
      result(report, 'udp/123 via host -> guest1').problems.join('\n'),
      /^the reply came from 192\.168\.122\.11:(?!123$)\d+, not from 192\.168\.122\.11:123 that was dialled$/,
    );
    const a2 = result(report, 'A2 local state: curl via host -> guest1');
    const node1 = a2.evidence?.nodes.find((n) => n.node === 'node1');
    assert.ok(node1, 'evidence from node1');
    // conntrack keyed the flow on the public address, and no reply ever matched it.
    assert.ok(
      node1.conntrack.some((l) => l.includes('dst=192.168.122.11') && l.includes('[UNREPLIED]')),
      node1.conntrack.join('\n'),
    );
    assert.ok(
      node1.counters.some((c) => c.includes('stateless-dnat')),
      node1.counters.join('\n'),
    );
    assert.ok(
      a2.evidence?.wire.some((w) => w.includes('node1') && w.includes('10.5.5.201.80')),
      'the capture shows the rewritten packet',
    );
  });

  test("fault: the reply keeps the guest's port, so translated forwards fail; the client says from where", async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part4, ['stateless-reply-port-kept']);
    assert.deepEqual(failedNames(report).sort(), [
      'ssh -p 2202 via foreign -> guest2',
      'ssh -p 2202 via host -> guest2',
      'udp/10123 via foreign -> guest2:123 (translated)',
    ]);
    const udp = result(report, 'udp/10123 via foreign -> guest2:123 (translated)');
    assert.deepEqual(udp.problems, [
      'the reply came from 192.168.122.11:123, not from 192.168.122.11:10123 that was dialled',
    ]);
  });

  test('fault: ARP for the anycast gateway leaks over the pipes, and both nodes answer', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part4, ['anycast-arp-leak']);
    assert.deepEqual(failedNames(report).sort(), [
      "guest1's gateway is its host alone",
      "guest2's gateway is its host alone",
    ]);
    assert.equal(result(report, "guest1's gateway is its host alone").answered, 'node1,node2');
  });
});

describe('lab: seed part 3, FULL-NAT', () => {
  test('every check passes; the guest sees the entering node; replies leave where they entered', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part3);
    assert.deepEqual(failedNames(report), []);
    assert.equal(report.passed, 15);
    const proxied = result(report, 'U1 proxy on node2 -> guest1');
    assert.equal(proxied.saw, '10.5.5.252', "HAProxy connects from node2's own guest-bridge address");
    const crossed = result(report, 'curl node2 -> guest1 (crossed)');
    assert.equal(crossed.answered, 'guest1');
    assert.equal(crossed.saw, '10.5.5.252', "node2's guest-bridge address");
    assert.deepEqual([crossed.enters, crossed.leaves], ['node2', 'node2']);
    const udp = result(report, 'U3 udp/123 via foreign -> guest1');
    assert.equal(udp.replyFrom, '192.168.122.12:123');
  });

  test('migration: connections open through either node survive guest1 moving to node2', async (t) => {
    if (!needsRoot(t)) return;
    const { lab, p, labRun, before, moved } = await upAndMove(part3, 'guest1', 'node2');
    try {
      const held = await holdAll(lab, p, ['ssh -p 2201 node1 -> guest1', 'ssh -p 2201 node2 -> guest1']);
      await applyToLab(lab, moved, quiet);
      await assertSurvived(held, 'guest1');
      const report = await checksAfterMove(lab, moved, before);
      assert.equal(result(report, 'guest1 out via its host').saw, '192.168.122.12', 'out through node2');
      const foreign = result(report, 'U3 udp/123 via foreign -> guest1');
      assert.deepEqual(
        [foreign.replyFrom, foreign.saw],
        ['192.168.122.11:123', '10.5.5.251'],
        'now via node1',
      );
    } finally {
      labRun.cleanup();
    }
  });

  test('derived checks pass too', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(withoutChecks(part3, 'part3-derived.yaml'));
    assert.deepEqual(failedNames(report), []);
    // 8 forwards through their nodes, 1 proxy x 2 nodes, per guest: outbound, ping, arp, a guest elsewhere.
    assert.equal(report.results.length, 8 + 2 + 2 * 4);
  });

  test("fault: a proxy connecting from the anycast gateway is reset by the guest's own node", async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part3, ['proxy-from-anycast']);
    assert.deepEqual(failedNames(report), ['U1 proxy on node2 -> guest1']);
    const proxied = result(report, 'U1 proxy on node2 -> guest1');
    // guest1 answers 10.5.5.254 through node1, which holds that address too and knows no such connection.
    assert.ok(
      proxied.evidence?.wire.some(
        (w) =>
          /node1 .*10\.5\.5\.254\.\d+ > 10\.5\.5\.201\.80: Flags \[R/.test(w) ||
          /node1 .*10\.5\.5\.201\.80 > 10\.5\.5\.254\.\d+: Flags \[S\.\]/.test(w),
      ),
      proxied.evidence?.wire.join('\n'),
    );
  });

  test('fault: without the full-NAT SNAT every foreign flow fails; the capture shows the un-NATed reply', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(part3, ['fullnat-without-snat']);
    const failed = failedNames(report);
    for (const name of [
      'curl node1 -> guest2 (crossed)',
      'curl node2 -> guest1 (crossed)',
      'ssh -p 2201 node2 -> guest1',
    ])
      assert.ok(failed.includes(name), `${name} fails`);
    for (const name of [
      'guest1 out via its host',
      "guest1's gateway is its host alone",
      'guest1 -> guest2 on the guest network',
    ])
      assert.ok(!failed.includes(name), `${name} still passes`);
    const crossed = result(report, 'curl node2 -> guest1 (crossed)');
    // guest1 answers through its own node1, which has no state for the flow: the reply leaves with
    // the guest's private address and the workstation resets it.
    assert.ok(
      crossed.evidence?.wire.some((w) => /node1 .*xenbr0 Out .*10\.5\.5\.201\.80 > 198\.51\.100\.10/.test(w)),
      crossed.evidence?.wire.join('\n'),
    );
    assert.equal(crossed.leaves, 'node1');
  });
});

describe('lab: three nodes in a ring of pipes, STP on the guest bridge', () => {
  test('STP blocks one pipe port; all checks pass; node1 fails, STP heals, the rest still works', async (t) => {
    if (!needsRoot(t)) return;
    const lines: string[] = [];
    const report = await labTest(prepare(ring3), { progress: (l) => lines.push(l), cut: 'node1' });
    assert.ok(!realRunner(['ip', 'netns', 'list']).stdout.includes(report.lab));
    const stp = lines.filter((l) => l.startsWith('guestnet: STP settled'));
    assert.equal(stp.length, 2, lines.join('\n'));
    assert.match(stp[0] as string, /blocking: node\d eth\d\.100$/, 'one port of the ring blocks');
    assert.match(stp[1] as string, /blocking: none$/, 'with node1 gone, the two pipes left form no loop');
    assert.deepEqual(failedNames(report), []);
    // 4 forwards x 3 nodes, per guest outbound, ping, arp, and guest to guest around the ring.
    assert.equal(report.results.length, 12 + 3 * 4);

    const after = report.afterCut?.report;
    assert.ok(after);
    assert.deepEqual(failedNames(after), []);
    const names = after.results.map((r) => r.name);
    assert.ok(names.includes('tcp/2203 via node2 -> guest3'), 'inbound through a remaining node');
    assert.ok(names.includes('tcp/9000 guest2 -> guest3'), 'across the pipe STP unblocked');
    assert.ok(!names.some((n) => n.includes('node1') || n.includes('guest1')), names.join(', '));
    // Connections held open across the cut, some of them through node1 as the transit before it.
    assertRingHeldAcrossCut(report);
  });

  test('migration: lab apply moves guest2 to node3; every check passes again, leaving through node3', async (t) => {
    if (!needsRoot(t)) return;
    const { lab, labRun, before, moved } = await upAndMove(ring3, 'guest2', 'node3');
    try {
      const moves = await applyToLab(lab, moved, quiet);
      assert.deepEqual(moves, [{ guest: 'guest2', from: 'node2', to: 'node3' }]);
      const report = await checksAfterMove(lab, moved, before);
      const viaNode1 = result(report, 'tcp/2202 via node1 -> guest2');
      assert.deepEqual([viaNode1.enters, viaNode1.leaves], ['node1', 'node3']);
    } finally {
      labRun.cleanup();
    }
  });
});

describe('lab: three nodes in a ring, FULL-NAT', () => {
  test('all checks pass; node1 cut: the rest works, connections held through node2 and node3 survive', async (t) => {
    if (!needsRoot(t)) return;
    const spec = parse(readFileSync(ring3, 'utf8')) as Record<string, unknown>;
    spec.name = 'ring3fullnat';
    spec.strategy = 'fullnat';
    const file = join(tmp, 'ring3-fullnat.yaml');
    writeFileSync(file, stringify(spec));
    const report = await labTest(prepare(file), { progress: quiet, cut: 'node1' });
    assert.deepEqual(failedNames(report), []);
    assert.equal(result(report, 'tcp/2203 via node2 -> guest3').saw, '10.5.5.252', "node2's address");
    const after = report.afterCut?.report;
    assert.ok(after);
    assert.deepEqual(failedNames(after), []);
    assertRingHeldAcrossCut(report);
  });
});
