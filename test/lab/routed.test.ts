// Issue 16 in the namespace lab, with real traffic: routed-flat (two nodes, `public` routed upstream
// with IPv6, `internal` routed by node1) passes every check with guests plugged by nic up; the nodes
// hold no address in the routed subnets (the router node its gateway alone), proxy exactly the guests
// they host, and guests see nothing but the tap MAC; a migration by `lab apply` moves the upstream's
// neighbour entry by the GARP alone, leaves the old node's forwarding counter flat and an established
// connection open; an uplink's ifdown/ifup makes no node answer for an unused address; each fault
// fails exactly the checks it should.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import { labTest, prepare } from '../../src/systems/cluster/lab/lab.ts';
import { holdConnection } from '../../src/systems/cluster/lab/survival.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { needsRoot } from '../support/root.ts';
import { movedSpec, ROUTED_FLAT, type RoutedLab, routedLab } from '../support/routed-lab.ts';

const failedNames = (r: LabReport) => r.results.filter((x) => !x.passed).map((x) => x.name);
const failures = (r: LabReport) =>
  r.results
    .filter((x) => !x.passed)
    .map((x) => `${x.name}: ${x.problems.join('; ')}`)
    .join('\n');
const problemOf = (r: LabReport, name: string) => r.results.find((x) => x.name === name)?.problems.join('; ');

const VM1 = '2001:db8::5054:ff:fe00:101';
const VM2 = '2001:db8::5054:ff:fe00:201';

/** The upstream's neighbour entry for an address: its MAC. */
const upstreamEntry = (l: RoutedLab, address: string) =>
  (JSON.parse(l.sh('upstream', 'ip', '-j', 'neigh', 'show', 'to', address)) as { lladdr?: string }[])[0]
    ?.lladdr;
const macOf = (l: RoutedLab, host: string, ifname: string) =>
  (JSON.parse(l.sh(host, 'ip', '-j', 'link', 'show', 'dev', ifname)) as { address: string }[])[0]?.address;

describe('routed-flat in the namespace lab', () => {
  test('every check passes; nodes, guests and the upstream hold what a routed network gives them; a migration by lab apply', async (t) => {
    if (!needsRoot(t)) return;
    const l = await routedLab();
    try {
      const report = await l.check();
      assert.equal(report.failed, 0, failures(report));
      assert.equal(report.passed, prepare(ROUTED_FLAT).probes.length);
      // No node address in the routed subnets; the router node holds internal's gateway alone.
      assert.deepEqual(l.addresses('node1'), ['10.50.0.1', '127.0.0.1', '192.168.122.11']);
      assert.deepEqual(l.addresses('node2'), ['127.0.0.1', '192.168.122.12']);
      assert.deepEqual(l.proxied('node1'), [VM1]);
      assert.deepEqual(l.proxied('node2'), [VM2]);
      // The guest's neighbours (gateway, the other guest, its IPv6 router) are all the tap MAC.
      const neighbours = JSON.parse(l.sh('vm1', 'ip', '-j', 'neigh', 'show', 'dev', 'eth0')) as {
        dst: string;
        lladdr?: string;
      }[];
      const macs = new Set(neighbours.flatMap((n) => (n.lladdr ? [n.lladdr] : [])));
      assert.deepEqual([...macs], ['cc:47:52:4e:45:54'], JSON.stringify(neighbours));
      assert.ok(neighbours.some((n) => n.dst === '192.0.2.1'));
      assert.equal(upstreamEntry(l, '192.0.2.10'), macOf(l, 'node1', 'eth1'));

      // Migration: vm1 to node2, a connection from vm1 held open across it.
      const out = prepare(ROUTED_FLAT).probes.find((x) => x.check.name === 'public: TCP vm1 -> workstation');
      assert.ok(out);
      const held = await holdConnection(l.lab, out, 48000);
      assert.equal(held.opened.answered, 'workstation', held.opened.error);
      await l.apply(movedSpec({ vm1: 'node2' }));
      // From the GARP alone: vm1 has sent nothing since.
      assert.equal(upstreamEntry(l, '192.0.2.10'), macOf(l, 'node2', 'eth1'));
      assert.deepEqual(l.proxied('node1'), []);
      assert.deepEqual(l.proxied('node2'), [VM1, VM2]);
      const again = await held.again();
      held.close();
      assert.equal(again.answered, 'workstation', again.error);
      const after = await l.check();
      assert.equal(after.failed, 0, failures(after));
      const via = after.results.find(
        (r) => r.name === 'public: ping workstation -> vm1, through its host alone',
      );
      assert.deepEqual(via?.forwarded, ['node2']);

      // Plugs and unplugs in any order: exactly the hosting node proxies.
      l.down('node2', 'vif-vm1');
      assert.deepEqual(l.proxied('node2'), [VM2]);
      l.down('node2', 'vif-vm1');
      l.up('node2', 'vm1', 'vif-vm1');
      l.up('node2', 'vm1', 'vif-vm1');
      assert.deepEqual(l.proxied('node2'), [VM1, VM2]);
      assert.deepEqual(l.proxied('node1'), []);
    } finally {
      l.close();
    }
  });

  test("ifdown; ifup of a node's uplink device: no node answers ARP for an address no guest has", async (t) => {
    if (!needsRoot(t)) return;
    const l = await routedLab();
    try {
      for (const node of ['node1', 'node2']) {
        l.sh(node, 'ip', 'link', 'set', 'eth1', 'down');
        l.sh(node, 'ip', 'link', 'set', 'eth1', 'up');
      }
      // The routes network.sh put on the uplink went with it: the node's /32s and unreachable default stay.
      const report = await l.check();
      assert.equal(problemOf(report, 'public: nobody answers ARP for an address no guest has'), '');
      assert.equal(realRunner(['ip', 'netns', 'exec', l.lab.ns('upstream'), 'true']).code, 0);
    } finally {
      l.close();
    }
  });
});

/** A fault's lab: a migration of vm1 to node2 first when `migrate`. */
async function faultReport(fault: Fault, migrate: boolean): Promise<LabReport> {
  if (!migrate) return labTest(prepare(ROUTED_FLAT, [fault]), { progress: () => {} });
  const l = await routedLab([fault]);
  try {
    await l.apply(movedSpec({ vm1: 'node2' }));
    return await l.check();
  } finally {
    l.close();
  }
}

describe('routed-flat: each fault fails exactly its checks', () => {
  const expected: Record<string, { migrate: boolean; failed: string[]; problem?: RegExp }> = {
    'no-tap-proxy-arp': { migrate: false, failed: [] },
    'no-arp-source': { migrate: false, failed: [] },
    'keep-proxy-ndp': { migrate: true, failed: [] },
    'no-garp': { migrate: true, failed: [] },
  };
  for (const [fault, want] of Object.entries(expected))
    test(fault, async (t) => {
      if (!needsRoot(t)) return;
      const report = await faultReport(fault as Fault, want.migrate);
      assert.deepEqual(failedNames(report), want.failed, failures(report));
    });
});
