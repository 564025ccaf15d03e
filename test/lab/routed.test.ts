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
import { labTest, prepare } from '../../src/systems/cluster/lab/lab.ts';
import { holdConnection } from '../../src/systems/cluster/lab/survival.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { failedNames, failures } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';
import { movedSpec, ROUTED_FLAT, type RoutedLab, routedLab } from '../support/routed-lab.ts';

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
      // The routes apply put on the uplink went with it; the unreachable default (proto 241: convergent's), on
      // no device, stayed.
      for (const node of ['node1', 'node2']) {
        const table = l.sh(node, 'ip', 'route', 'show', 'table', '500');
        assert.doesNotMatch(table, /dev eth1/, `${node}: the uplink's routes are gone`);
        assert.match(
          table,
          /^unreachable default proto 241 metric 4294967295/m,
          `${node}: the unreachable default stays`,
        );
      }
      const report = await l.check();
      assert.equal(problemOf(report, 'public: nobody answers ARP for an address no guest has'), '');
    } finally {
      l.close();
    }
  });
});

/**
 * A fault's lab; with `migrate`, the checks run once (the upstream learns vm1 at node1), vm1 moves to
 * node2, and the checks that count the forwarding nodes run first, while the upstream's entry for vm1
 * is what the migration left (it mends itself within seconds of use: a probe of node1 goes
 * unanswered, then node2 answers a broadcast).
 */
async function faultReport(fault: Fault, migrate: boolean): Promise<{ failed: string[]; text: string }> {
  if (!migrate) {
    const r = await labTest(prepare(ROUTED_FLAT, [fault]), { progress: () => {} });
    return { failed: failedNames(r), text: failures(r) };
  }
  const l = await routedLab([fault]);
  try {
    await l.check();
    await l.apply(movedSpec({ vm1: 'node2' }));
    const via = l.p.probes.filter((x) => x.expect.via !== undefined);
    const first = await l.check({ ...l.p, probes: via });
    const rest = await l.check({ ...l.p, probes: l.p.probes.filter((x) => !via.includes(x)) });
    const failed = new Set([...failedNames(first), ...failedNames(rest)]);
    return {
      failed: l.p.probes.map((x) => x.check.name).filter((n) => failed.has(n)),
      text: `${failures(first)}\n${failures(rest)}`,
    };
  } finally {
    l.close();
  }
}

describe('routed-flat: each fault fails exactly its checks', () => {
  const expected: Record<string, { migrate: boolean; failed: string[] }> = {
    // The guests' own IPv4 ARP goes unanswered: nothing but their IPv6 (NDP is the node's own) and
    // the router node's own address (node1 answers for 10.50.0.1 on any link, as Linux does).
    'no-tap-proxy-arp': {
      migrate: false,
      failed: [
        'public: ping vm1 -> gateway',
        'public: TCP vm1 -> gateway',
        'public: ping vm1 -> workstation',
        'public: TCP vm1 -> workstation',
        'public: ping vm1 -> vm2 on the other node',
        'public: TCP vm1 -> vm2 on the other node',
        'public: ARP vm1 -> gateway: the tap answers',
        'public: ARP vm1 -> vm2: the tap answers',
        'internal: vm2:1 -> workstation as node1',
        'internal: ping vm2:1 -> its gateway on node1',
        'internal: TCP vm2:1 -> vm1:1 across the nodes',
        'internal: ARP vm2:1 -> gateway: the tap answers',
      ],
    },
    // Traffic flows; the neighbour tables show the nodes' own addresses.
    'no-arp-source': {
      migrate: false,
      failed: [
        'public: ARP vm1 -> gateway: the tap answers',
        'public: ARP vm1 -> vm2: the tap answers',
        'public: ARP gateway -> vm1: its host answers',
        'public: ARP gateway -> vm2: node2 answers',
        'internal: ARP vm2:1 -> gateway: the tap answers',
      ],
    },
    // After vm1 moved to node2, node1 still answers its neighbour solicitation.
    'keep-proxy-ndp': { migrate: true, failed: ['public: NDP gateway -> vm1: its host alone answers'] },
    // After vm1 moved to node2, the upstream still sends to node1: an extra hop.
    'no-garp': {
      migrate: true,
      failed: [
        'public: ping workstation -> vm1, through its host alone',
        'public: ping workstation -> vm1 over IPv6, through its host alone',
      ],
    },
  };
  for (const [fault, want] of Object.entries(expected))
    test(fault, async (t) => {
      if (!needsRoot(t)) return;
      const { failed, text } = await faultReport(fault as Fault, want.migrate);
      assert.deepEqual(failed, want.failed, text);
      if (fault === 'no-garp')
        assert.match(text, /forwarded by node1, node2, expected node2 alone: an extra hop through node1/);
      if (fault === 'no-arp-source') assert.match(text, /\(node2's own address\)/);
    });
});
