// Issue 16 in the VM lab (Debian's kernel: real bonds and 802.1Q), with real traffic: the seed's
// routed demo (VLAN 993 over an active-backup bond, gateway and ARP address from the slide) passes
// every check: guests across the nodes, the workstation beyond the upstream, the tap MAC and no node
// address in the guests' neighbour tables, the hosting node's bond0.993 in the upstream's.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { realRunner } from '../../src/lab/run.ts';
import { prepare } from '../../src/systems/cluster/lab/lab.ts';
import { pickKernels } from '../../src/vm/kernel.ts';
import { vmLabTest } from '../../src/vm/lab.ts';
import { VM_ROOT } from '../../src/vm/qemu.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { failures } from '../support/report.ts';
import { needsVm } from '../support/root.ts';

test('VM lab: ganeti-routed.yaml (bond0.993) passes every check', async (t) => {
  if (!needsVm(t)) return;
  const p = prepare(join(EXAMPLES_DIR, 'ganeti-routed.yaml'));
  const [kernel] = pickKernels([]);
  assert.ok(kernel);
  const lines: string[] = [];
  const report = await vmLabTest(p, { kernel, progress: (l) => lines.push(l) });
  assert.deepEqual(existsSync(VM_ROOT) ? readdirSync(VM_ROOT) : [], [], 'no VM run directory is left');
  assert.equal(realRunner(['pgrep', '-f', '^qemu-system-x86_64 ']).stdout, '', 'no qemu is left');
  assert.equal(report.failed, 0, `${failures(report)}\n${lines.slice(-20).join('\n')}`);
  assert.equal(report.passed, p.probes.length);
  const row = (name: string) => report.results.find((r) => r.name === name);
  assert.equal(row("ARP gateway -> vm1: node1's bond0.993 answers")?.answered, 'node1');
  assert.deepEqual(row('ping workstation -> vm1, through its host alone')?.forwarded, ['node1']);
});
