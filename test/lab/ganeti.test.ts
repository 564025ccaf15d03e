// Issue 15 in the namespace lab, with real traffic: ganeti-flat (a bridged network and two private
// networks sharing prv0, no bond, no VLAN) passes every check, guests plugged by nic up; each fault
// fails exactly the checks it should; a spec with bonds and VLANs is refused before anything exists.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { probeKernel } from '../../src/lab/capabilities.ts';
import { LabError } from '../../src/lab/errors.ts';
import { labDir } from '../../src/lab/registry.ts';
import type { LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import { labTest, prepare } from '../../src/systems/cluster/lab/lab.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { failedNames, failures } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

const flat = join(EXAMPLES_DIR, 'ganeti-flat.yaml');

const namespaces = () => realRunner(['ip', 'netns', 'list']).stdout;

async function run(file: string, faults: Fault[] = [], lines: string[] = []): Promise<LabReport> {
  const report = await labTest(prepare(file, faults), { progress: (l) => lines.push(l) });
  assert.ok(!namespaces().includes(report.lab), `namespaces of ${report.lab} left behind`);
  assert.ok(!existsSync(labDir(report.lab)), 'the state directory is removed');
  return report;
}

describe('ganeti-flat in the namespace lab', () => {
  test('every check passes; taps plugged by nic up; blocked checks ran and got nothing', async (t) => {
    if (!needsRoot(t)) return;
    const lines: string[] = [];
    const report = await run(flat, [], lines);
    assert.equal(report.failed, 0, failures(report));
    assert.equal(report.passed, prepare(flat).probes.length);
    assert.ok(
      lines.some((l) =>
        l.startsWith('guests plugged by nic up: 8 taps (nic vm1:0 on vif-vm1: bridge pub0 mtu 9000'),
      ),
      lines.join('\n'),
    );
    const byName = new Map(report.results.map((r) => [r.name, r]));
    // A blocked check passes on silence, never on a client that could not send.
    for (const r of report.results.filter((x) => x.name.includes('dropped') || x.name.includes('cut off')))
      assert.equal(r.silent, true, r.name);
    assert.equal(byName.get('private-a: multicast from vm1 reaches vm2 alone')?.answered, 'vm2');
    assert.equal(byName.get('private-b: broadcast from vm3 reaches vm4 alone')?.answered, 'vm4');
    assert.match(
      byName.get("spoof: allow: vm4's announcement of vm3's address is taken")?.answered ?? '',
      /^vm2 took 62\.217\.124\.12 at vm4's 52:54:00:00:04:01$/,
    );
    assert.equal(byName.get('spoof: allow: vm4 sends from a second address')?.saw, '62.217.124.51');
    assert.match(
      byName.get('MTU 1500 upstream: -s 8972 to the workstation fails')?.error ?? '',
      /Frag needed/,
    );
  });

  test('fault no-antispoof: exactly the spoofed probes get through', async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(flat, ['no-antispoof']);
    assert.deepEqual(failedNames(report), [
      'private: vm1 with a changed MAC is cut off',
      'spoof: TCP from a second address of vm3 is dropped',
      'spoof: UDP from a second address of vm3 is dropped',
      "spoof: vm1 announcing vm3's address is dropped",
    ]);
  });

  test("fault private-forward-only: exactly the node's own multicast leaks into the private networks", async (t) => {
    if (!needsRoot(t)) return;
    const report = await run(flat, ['private-forward-only']);
    assert.deepEqual(failedNames(report), ["private: node1's own multicast reaches no private guest"]);
    const leak = report.results.find((r) => !r.passed);
    assert.match(leak?.problems.join(' ') ?? '', /^vm\d(,vm\d)* answered; expected nothing to$/);
  });

  test('ganeti-seed (bonds, VLANs) is refused before anything exists, naming --vm', async (t) => {
    if (!needsRoot(t)) return;
    const devices = probeKernel(realRunner).devices ?? new Set();
    if (devices.has('bond') && devices.has('vlan'))
      return t.skip('this kernel has bonds and 802.1Q: the namespace lab runs ganeti-seed here');
    const before = namespaces();
    await assert.rejects(
      labTest(prepare(join(EXAMPLES_DIR, 'ganeti-seed.yaml')), { progress: () => {} }),
      (err: Error) =>
        err instanceof LabError &&
        /^this kernel has no .*(\(for node node1's bond bond0\)|\(for network vlan104)/.test(err.message) &&
        err.message.endsWith('convergent lab test FILE --vm'),
    );
    assert.equal(namespaces(), before, 'no namespace was created');
  });
});
