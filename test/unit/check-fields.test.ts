// Issue 15's check fields: a NIC as "vm2:1", multicast and broadcast on a network, garp, a spoofed
// source, a MAC, a ping size, a failover cut and "blocked" resolve as written, and each misuse is
// one located problem with a fix.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatHostRef } from '../../src/systems/cluster/checks.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { clusterFromText, problemsOf } from '../support/spec.ts';

const seed = readFileSync(join(EXAMPLES_DIR, 'ganeti-seed.yaml'), 'utf8').replace(/\nchecks:[\s\S]*$/, '\n');
const withChecks = (lines: string) => `${seed}checks:\n${lines}`;

describe('check fields of issue 15', () => {
  test('they resolve: a NIC, a network, receivers, source, mac, size, cut, blocked', () => {
    const c = clusterFromText(
      withChecks(`  - { from: vm1, to: "vm2:1", proto: tcp, port: 9000, source: 192.168.10.9, expect: { blocked: true } }
  - { from: node1, to: private-a, proto: multicast, expect: { answers: [vm2, "vm4"] } }
  - { from: vm1, to: vm2, proto: ping, size: 8972, mac: "52:54:00:00:01:99", cut: { node: node1, link: eno1 } }
  - { from: vm3, to: vm4, proto: garp, source: "vm4:1" }
`),
    );
    const [a, b, p, g] = c.checks ?? [];
    assert.equal(a && formatHostRef(a.to), 'vm2:1');
    assert.equal(a?.name, 'tcp/9000 vm1 -> vm2:1');
    assert.deepEqual(a?.source, { kind: 'address', address: 0xc0a80a09 });
    assert.equal(a?.expect.blocked, true);
    assert.deepEqual(b?.to, { kind: 'network', name: 'private-a' });
    assert.deepEqual(b?.expect.receivers?.map(formatHostRef), ['vm2', 'vm4']);
    assert.deepEqual([p?.size, p?.mac, p?.cut], [8972, '52:54:00:00:01:99', { node: 'node1', link: 'eno1' }]);
    assert.deepEqual(g?.source, { kind: 'guest', name: 'vm4', nic: 1 });
  });

  test('each misuse is one located problem with a fix', () => {
    const cases: [string, RegExp][] = [
      ['{ from: vm1, to: "vm2:7", proto: ping }', /:\d+:\d+: error: unknown host "vm2:7"/],
      [
        '{ from: vm1, to: vm2, proto: multicast }',
        /error: a multicast check sends on a network's segment\n {2}fix: name a network/,
      ],
      ['{ from: vm1, to: private-b, proto: broadcast }', /error: guest vm1 has no NIC on network private-b/],
      [
        '{ from: vm1, to: private-a, proto: ping }',
        /error: a ping check sends to a host; only multicast and broadcast/,
      ],
      ['{ from: vm1, to: vm2, proto: garp }', /error: a garp check announces the address in "source"/],
      [
        '{ from: vm1, to: vm2, proto: tcp, port: 22, size: 100 }',
        /error: a tcp check has no payload size\n {2}fix: use proto ping/,
      ],
      [
        '{ from: vm1, to: vm2, proto: ping, source: 10.0.0.1 }',
        /error: a ping check cannot send from another address/,
      ],
      [
        '{ from: workstation, to: vm2, proto: tcp, port: 22, mac: "52:54:00:00:00:01" }',
        /error: only a guest client changes its address or MAC/,
      ],
      [
        '{ from: vm1, to: vm2, proto: tcp, port: 22, expect: { blocked: true, answers: vm2 } }',
        /error: a blocked check expects nothing to answer/,
      ],
      [
        '{ from: vm1, to: vm2, proto: ping, cut: { node: node1, link: eno9 } }',
        /error: eno9 is no bond's slave on node node1: cutting it tests no failover\n {2}fix: name a slave: eno1, eno2/,
      ],
      [
        '{ from: vm1, to: vm2, proto: udp, port: 9, cut: { node: node1, link: eno1 } }',
        /error: a failover check runs a ping or a TCP stream/,
      ],
      [
        '{ from: node1, to: vm2, proto: ping }',
        /error: the lab runs clients on the workstation and on guests, not on "node1"/,
      ],
    ];
    for (const [check, expected] of cases) {
      const problems = problemsOf(withChecks(`  - ${check}\n`));
      assert.equal(problems.length, 1, `${check}: ${problems.join('\n')}`);
      assert.match(problems[0] as string, expected, check);
    }
  });
});
