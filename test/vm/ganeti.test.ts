// Issue 15 in the VM lab (Debian's kernel: real bonds and 802.1Q), with real traffic: the seed's
// example (bond0 active-backup over eno1/eno2, VLANs 104 and 992, private networks on VLAN 990) and
// the Proxmox-like one pass every check, and the bond's failover is measured and reported.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import { prepare } from '../../src/systems/cluster/lab/lab.ts';
import { pickKernels } from '../../src/vm/kernel.ts';
import { vmLabTest } from '../../src/vm/lab.ts';
import { VM_ROOT } from '../../src/vm/qemu.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { failures } from '../support/report.ts';
import { needsVm } from '../support/root.ts';

function assertNothingLeft(): void {
  assert.deepEqual(existsSync(VM_ROOT) ? readdirSync(VM_ROOT) : [], [], 'no VM run directory is left');
  assert.equal(realRunner(['pgrep', '-f', '^qemu-system-x86_64 ']).stdout, '', 'no qemu is left');
}

async function inVm(example: string): Promise<LabReport> {
  const p = prepare(join(EXAMPLES_DIR, example));
  const [kernel] = pickKernels([]);
  assert.ok(kernel);
  const lines: string[] = [];
  const report = await vmLabTest(p, { kernel, progress: (l) => lines.push(l) });
  assertNothingLeft();
  assert.equal(report.failed, 0, `${failures(report)}\n${lines.slice(-20).join('\n')}`);
  assert.equal(report.passed, p.probes.length);
  return report;
}

describe('VM lab: Ganeti and Proxmox host networking on a Debian kernel', () => {
  test('ganeti-seed.yaml: every check passes; the bond fails over to eno2 and back, with its figures', async (t) => {
    if (!needsVm(t)) return;
    const report = await inVm('ganeti-seed.yaml');
    const failover = report.results.find((r) => r.name.startsWith('bond0 failover'));
    const f = failover?.figures;
    assert.ok(f, JSON.stringify(failover));
    assert.equal(f.mode, 'fault-tolerance (active-backup)');
    assert.deepEqual([f.activeBefore, f.activeDuring, f.activeAfter], ['eno1', 'eno2', 'eno1']);
    // Traffic went on over eno2: some probes answered after the cut (how fast is a figure, not a test).
    assert.ok(typeof f.failoverMs === 'number' && typeof f.lost === 'number' && typeof f.sent === 'number');
    assert.ok(f.lost < f.sent, JSON.stringify(f));
    t.diagnostic(`bond0 failover ${f.failoverMs} ms, ${f.lost} of ${f.sent} probes lost`);
    for (const r of report.results.filter((x) => x.name.includes('dropped') || x.name.includes('fails')))
      assert.equal(r.silent, true, r.name);
  });

  test('proxmox-vlan.yaml: every check passes', async (t) => {
    if (!needsVm(t)) return;
    await inVm('proxmox-vlan.yaml');
  });
});
