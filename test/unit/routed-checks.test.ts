// Issue 16's check fields on routed-flat: family ipv6, from: gateway and expect.via resolve as
// written, probes dial what they mean (IPv6 addresses, the gateway's host, the tap MAC), and each
// misuse is one located problem with a fix.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { probesOf } from '../../src/systems/cluster/lab/probes.ts';
import { labTopology } from '../../src/systems/cluster/lab/topology.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { clusterFromText, problemsOf } from '../support/spec.ts';

const flat = readFileSync(join(EXAMPLES_DIR, 'routed-flat.yaml'), 'utf8').replace(/\nchecks:[\s\S]*$/, '\n');
const withChecks = (lines: string) => `${flat}checks:\n${lines}`;

describe('check fields of issue 16', () => {
  test('they resolve and their probes dial what they mean', () => {
    const c = clusterFromText(
      withChecks(`  - { from: vm1, to: gateway, proto: tcp, port: 9000, family: ipv6, expect: { sees: vm1 } }
  - { from: gateway, to: vm2, proto: arp, expect: { answers: host } }
  - { from: workstation, to: vm1, proto: ping, family: ipv6, expect: { via: host } }
  - { from: vm1, to: vm2, proto: arp }
  - { from: gateway, to: "vm2:1", proto: ping }
  - { from: "vm1:1", to: workstation, proto: tcp, port: 9000, expect: { sees: node1 } }
`),
    );
    const [tcp6, arpGw, via, arpGuest, router, masq] = probesOf(c, labTopology(c), c.checks ?? []);
    assert.deepEqual(
      [tcp6?.client, tcp6?.dial, tcp6?.server?.host, tcp6?.expect.sees],
      ['vm1', '2001:db8::1', 'upstream', '2001:db8::5054:ff:fe00:101'],
    );
    assert.deepEqual(
      [arpGw?.client, arpGw?.dial, arpGw?.routed?.sender, arpGw?.routed?.answersNode],
      ['upstream', '192.0.2.11', '192.0.2.1', 'node2'],
    );
    assert.deepEqual(
      [via?.dial, via?.expect.via, via?.client15.alone],
      ['2001:db8::5054:ff:fe00:101', 'node1', true],
    );
    assert.deepEqual(
      [arpGuest?.expect.answers, arpGuest?.expect.answersMac, arpGuest?.routed?.sender],
      ['node1', 'cc:47:52:4e:45:54', '192.0.2.10'],
    );
    assert.deepEqual([router?.client, router?.dial], ['node1', '10.50.0.11']);
    assert.deepEqual([masq?.client15.bind, masq?.expect.sees], [0x0a32000a, '192.168.122.11']);
  });

  test('each misuse is one located problem with a fix', () => {
    const cases: [string, RegExp][] = [
      [
        '{ from: vm1, to: vm2, proto: http, port: 80, family: ipv6 }',
        /:\d+:\d+: error: family ipv6 is for ping, tcp and udp checks/,
      ],
      ['{ from: vm1, to: "vm2:1", proto: ping, family: ipv6 }', /error: guest NIC vm2:1 has no IPv6 address/],
      [
        '{ from: gateway, to: workstation, proto: ping }',
        /error: "gateway" sends only toward a guest on a routed network/,
      ],
      [
        '{ from: gateway, to: vm1, proto: http, port: 9000 }',
        /error: a gateway sends ping, tcp, udp or arp, not http/,
      ],
      [
        '{ from: vm1, to: gateway, proto: arp, expect: { via: node1 } }',
        /error: arp checks forward nothing a node counts/,
      ],
      [
        '{ from: workstation, to: vm1, proto: ping, expect: { via: node7 } }',
        /error: unknown node "node7"\n {2}fix: known nodes: node1, node2/,
      ],
      [
        '{ from: workstation, to: vm2, proto: ping, expect: { via: host, blocked: true } }',
        /error: a blocked check expects nothing to answer/,
      ],
      [
        '{ from: workstation, to: "vm2:1", proto: ping }',
        /error: guest vm2 has a private address the workstation cannot route to/,
      ],
    ];
    for (const [check, expected] of cases) {
      const problems = problemsOf(withChecks(`  - ${check}\n`));
      assert.equal(problems.length, 1, `${check}: ${problems.join('\n')}`);
      assert.match(problems[0] as string, expected, check);
    }
  });
});
