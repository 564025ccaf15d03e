// apply's health checks on a fake host: they run before the change too, and only what passed before
// can fail the apply after it (a peer down for maintenance, a network the other nodes do not have
// yet); a link the apply creates must be up after it; a bond is checked, not its slaves.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkHealth, type HealthPlan, healthBefore, healthHooks, offLink } from '../../src/apply/health.ts';
import type { Runner } from '../../src/lab/run.ts';
import { readSpec } from '../../src/systems/registry.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

/** A host: which links exist and are up, which addresses answer a ping. */
function fakeHost(links: Record<string, 'up' | 'down'>, answering: string[]) {
  const route: { code: number; stdout: string; stderr: string } = {
    code: 0,
    stdout: JSON.stringify([{ dst: '1.1.1.1', gateway: '192.0.2.1', dev: 'br0' }]),
    stderr: '',
  };
  const host = { links, answering: new Set(answering), pings: [] as string[][], route };
  const run: Runner = (argv) => {
    if (argv.join(' ').startsWith('ip -j route get')) return host.route;
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
    host.pings.push([...argv]);
    return { code: host.answering.has(address) ? 0 : 1, stdout: '', stderr: '' };
  };
  return { host, run };
}

const PLAN: HealthPlan = {
  gateway: { address: '192.0.2.1', dev: 'br0', beyond: '1.1.1.1' },
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
    assert.deepEqual([...before], ['peer 10.0.0.3 guestbr0']);
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
    assert.deepEqual([...before], ['link br0']);
    host.links = { br0: 'down', guestbr0: 'down' };
    assert.deepEqual(checkHealth(run, { ...PLAN, gateway: undefined, peers: [] }, before), {
      failed: ['guestbr0 is not up'],
      notes: ['br0 is not up'],
    });
  });

  test('without a baseline every failing check fails; the hooks say the notes', () => {
    const { run } = fakeHost({ br0: 'up', guestbr0: 'up' }, ['10.0.0.2', '10.0.0.3']);
    const gatewayOnly: HealthPlan = { ...PLAN, peers: [] };
    assert.deepEqual(checkHealth(run, gatewayOnly).failed, ['the uplink gateway 192.0.2.1 does not answer']);
    const said: string[] = [];
    const hooks = healthHooks(run, gatewayOnly, (l) => said.push(l));
    hooks.healthBefore();
    assert.deepEqual(hooks.health(), []);
    assert.deepEqual(said, [
      'note: the uplink gateway 192.0.2.1 does not answer (already before the apply; not held against it)',
    ]);
  });

  test('the gateway is pinged unbound, and an address beyond it must be routed via it on the uplink', () => {
    const { host, run } = fakeHost({ br0: 'up', guestbr0: 'up' }, ['192.0.2.1', '10.0.0.2', '10.0.0.3']);
    assert.deepEqual(checkHealth(run, PLAN).failed, []);
    // With -I a failed route lookup is taken as on-link: the gateway would answer without any route.
    assert.deepEqual(host.pings[0], ['ping', '-n', '-q', '-c', '1', '-W', '1', '192.0.2.1']);
    assert.deepEqual(host.pings[1], ['ping', '-n', '-q', '-c', '1', '-W', '1', '-I', 'guestbr0', '10.0.0.2']);
    // A blackhole rule, or no default route: the lookup fails.
    host.route = { code: 2, stdout: '', stderr: 'RTNETLINK answers: Invalid argument' };
    assert.deepEqual(checkHealth(run, PLAN).failed, [
      '1.1.1.1 is not routed via the uplink gateway 192.0.2.1 on br0 (RTNETLINK answers: Invalid argument)',
    ]);
    // A gateway the node does not route through yet (the change sets it) that answers nobody: the
    // change cuts the node off, however it failed before.
    host.route = { code: 0, stdout: JSON.stringify([{ gateway: '192.0.2.9', dev: 'br0' }]), stderr: '' };
    host.answering.delete('192.0.2.1');
    const before = healthBefore(run, PLAN);
    host.route = { code: 0, stdout: JSON.stringify([{ gateway: '192.0.2.1', dev: 'br0' }]), stderr: '' };
    assert.deepEqual(checkHealth(run, PLAN, before), {
      failed: ['the uplink gateway 192.0.2.1 does not answer'],
      notes: [],
    });
  });

  test("the address beyond the gateway is off the node's subnets and routes", () => {
    assert.equal(offLink(['192.168.122.11/24', '10.5.5.0/24']), '1.1.1.1');
    assert.equal(offLink(['1.1.1.0/24', '9.0.0.0/8', 'fd00::1/64']), '8.8.8.8');
    assert.equal(offLink(['0.0.0.0/1']), undefined);
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
