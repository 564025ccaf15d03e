// apply's health checks on a fake host: they run before the change too, and only what passed before
// can fail the apply after it (a peer down for maintenance, a network the other nodes do not have
// yet); a link the apply creates must be up after it; a bond is checked, not its slaves.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkHealth, type HealthPlan, healthBefore, healthHooks } from '../../src/apply/health.ts';
import type { Runner } from '../../src/lab/run.ts';
import { readSpec } from '../../src/systems/registry.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

/** A host: which links exist and are up, which addresses answer a ping. */
function fakeHost(links: Record<string, 'up' | 'down'>, answering: string[]) {
  const host = { links, answering: new Set(answering), pings: [] as string[] };
  const run: Runner = (argv) => {
    if (argv[0] === 'ip')
      return {
        code: 0,
        stdout: JSON.stringify(
          Object.entries(host.links).map(([ifname, s]) => ({
            ifname,
            flags: s === 'up' ? ['BROADCAST', 'UP', 'LOWER_UP'] : ['BROADCAST'],
            operstate: s === 'up' ? 'UP' : 'DOWN',
          })),
        ),
        stderr: '',
      };
    const address = argv.at(-1) ?? '';
    host.pings.push(address);
    return { code: host.answering.has(address) ? 0 : 1, stdout: '', stderr: '' };
  };
  return { host, run };
}

const PLAN: HealthPlan = {
  gateway: { address: '192.0.2.1', dev: 'br0' },
  peers: [
    { node: 'node2', address: '10.0.0.2', dev: 'guestbr0' },
    { node: 'node3', address: '10.0.0.3', dev: 'guestbr0' },
  ],
  links: ['br0', 'guestbr0'],
};

describe('apply health checks', () => {
  test('a peer down before the apply (maintenance, or without the new network yet) is a note', () => {
    const { host, run } = fakeHost({ br0: 'up', guestbr0: 'up' }, ['192.0.2.1', '10.0.0.2']);
    const before = healthBefore(run, PLAN);
    assert.deepEqual([...before], ["node3's 10.0.0.3 does not answer on guestbr0"]);
    // The change breaks node2's reachability: that is the apply's fault.
    host.answering.delete('10.0.0.2');
    assert.deepEqual(checkHealth(run, PLAN, before), {
      failed: ["node2's 10.0.0.2 does not answer on guestbr0"],
      notes: ["node3's 10.0.0.3 does not answer on guestbr0"],
    });
  });

  test('a link the apply creates must be up after it; one down already before is a note', () => {
    const { host, run } = fakeHost({ br0: 'down' }, ['192.0.2.1', '10.0.0.2', '10.0.0.3']);
    const before = healthBefore(run, PLAN);
    assert.deepEqual([...before], ['br0 is not up']);
    host.links = { br0: 'down', guestbr0: 'down' };
    assert.deepEqual(checkHealth(run, { ...PLAN, gateway: undefined, peers: [] }, before), {
      failed: ['guestbr0 is not up'],
      notes: ['br0 is not up'],
    });
  });

  test('without a baseline every failing check fails; the hooks say the notes', () => {
    const { run } = fakeHost({ br0: 'up', guestbr0: 'up' }, ['10.0.0.2', '10.0.0.3']);
    const gatewayOnly: HealthPlan = { ...PLAN, peers: [] };
    assert.deepEqual(checkHealth(run, gatewayOnly).failed, [
      'the uplink gateway 192.0.2.1 does not answer on br0',
    ]);
    const said: string[] = [];
    const hooks = healthHooks(run, gatewayOnly, (l) => said.push(l));
    hooks.healthBefore();
    assert.deepEqual(hooks.health(), []);
    assert.deepEqual(said, [
      'note: the uplink gateway 192.0.2.1 does not answer on br0 (already before the apply; not held against it)',
    ]);
  });

  test("a bond is checked, not its slaves (a dead slave is the bond's redundancy at work)", () => {
    const { system, spec } = readSpec(join(EXAMPLES_DIR, 'ganeti-seed.yaml'));
    const target = system.applyTarget(spec, 'node1', 'ganeti-seed.yaml');
    assert.ok(!('refused' in target));
    assert.ok(target.health.links.includes('bond0'));
    assert.ok(!target.health.links.includes('eno1'));
    assert.ok(!target.health.links.includes('eno2'));
  });
});
