// Seed 004's check fields: "through" (an appliance, or none), a ping's "ttl", and the vrrp check
// resolve into probes the lab runs alone (through) or as a segment probe (vrrp); each misuse is one
// located problem with a fix. The lab plugs every NIC of the appliance, and `lab apply` of an
// insertion changes each node's rules and table routes by a diff of the plans.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { applianceRuleset, appliancesOf } from '../../src/systems/cluster/lab/appliance.ts';
import { prepare } from '../../src/systems/cluster/lab/lab.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { problemsOf } from '../support/spec.ts';

const SEED004 = join(EXAMPLES_DIR, 'seed004-insert.yaml');
const seed = readFileSync(SEED004, 'utf8').replace(/\nchecks:[\s\S]*$/, '\n');
const withChecks = (lines: string) => `${seed}checks:\n${lines}`;

describe('seed 004 check fields', () => {
  test('the example: through, ttl and vrrp become probes', () => {
    const p = prepare(SEED004);
    const byName = new Map(p.probes.map((x) => [x.check.name, x]));
    const ping = byName.get('vm1 pings the workstation through fw1');
    assert.deepEqual([ping?.expect.through, ping?.expect.ttl, ping?.client15.alone], ['fw1', 60, true]);
    const vrrp = byName.get("the HA pair's VRRP advertisement");
    assert.equal(vrrp?.dial, '224.0.0.18');
    assert.equal(vrrp?.client15.iface, 'xenbr0');
    assert.deepEqual(vrrp?.client15.receivers, ['node2']);
    assert.ok(vrrp?.client15.listeners?.includes('fw1'));
    // The management address is served by fw1 itself, behind its floating IP.
    const mgmt = byName.get("the appliance's management address");
    assert.deepEqual(mgmt?.server, { host: 'fw1', kind: 'tcp', port: 443 });
  });

  test('the appliance: both NICs plugged, default route by the transit network, management by its own', () => {
    const p = prepare(SEED004);
    const fw1 = p.topology.guests.filter((g) => g.guest.name === 'fw1');
    assert.deepEqual(
      fw1.map((g) => [g.ifname, g.vif, g.network.name, g.gateway, g.sourceGateway]),
      [
        ['eth0', 'vif-fw1', 'fwnet', '10.7.255.1', undefined],
        ['eth1', 'vif-fw1-1', 'mgmt', undefined, '10.7.254.1'],
      ],
    );
    const [a] = appliancesOf(p.cluster, p.topology);
    assert.deepEqual(a, { guest: 'fw1', transit: 'eth0', management: ['eth1'] });
    const ruleset = applianceRuleset(a as NonNullable<typeof a>);
    assert.match(ruleset, /ct direction original counter name "original"/);
    assert.match(ruleset, /iifname != \{ "eth1" \} tcp dport 443 counter name "refused" drop/);
  });

  test('each misuse is one located problem with a fix', () => {
    const cases: [string, RegExp][] = [
      [
        '{ from: vm1, to: workstation, proto: ping, expect: { through: vm2 } }',
        /error: "vm2" is no network's inserted appliance\n {2}fix: name one: fw1, or "none"/,
      ],
      [
        '{ from: vm1, to: workstation, proto: tcp, port: 9000, expect: { ttl: 60 } }',
        /error: a tcp check reads no TTL\n {2}fix: use proto ping/,
      ],
      [
        '{ from: vm1, to: node2, proto: vrrp }',
        /error: a vrrp advertisement is sent by a node .*\n {2}fix: name a node/,
      ],
      ['{ from: node1, to: node2, proto: vrrp, port: 112 }', /error: vrrp checks have no port/],
      ['{ from: vm1, to: workstation, proto: ping, expect: { ttl: 0 } }', /ttl is at least 1/],
    ];
    for (const [check, expected] of cases) {
      const problems = problemsOf(withChecks(`  - ${check}\n`));
      assert.equal(problems.length, 1, `${check}: ${problems.join('\n')}`);
      assert.match(problems[0] as string, expected, check);
    }
  });
});
