// convergent lab status [LAB] [--json]: the labs on this machine, or one in detail.
import type { Command } from '@commander-js/extra-typings';
import { type LabEntry, listLabs } from '../../lab/registry.ts';
import { realRunner } from '../../lab/run.ts';
import { systemOf } from '../../systems/registry.ts';
import { plural } from '../../util/plural.ts';
import { listVmLabs, type VmLabEntry } from '../../vm/resident.ts';
import { action } from '../errors.ts';
import { labTitle, selectLab } from './select.ts';

export function statusCommand(lab: Command): void {
  lab
    .command('status')
    .description('list the labs on this machine, or show one')
    .argument('[lab]', 'lab id or cluster name')
    .option('--json', 'print as JSON on stdout')
    .action(
      action((selector, options) => {
        const chosen = selector ? selectLab(selector, true) : undefined;
        const labs = chosen ? (chosen.ns ? [chosen.ns] : []) : listLabs(realRunner);
        const vms = chosen ? (chosen.vm ? [chosen.vm] : []) : listVmLabs();
        if (options.json) {
          process.stdout.write(`${JSON.stringify([...labs, ...vms], null, 2)}\n`);
          return;
        }
        if (labs.length + vms.length === 0) process.stdout.write('no labs\n');
        for (const l of labs) process.stdout.write(nsLab(l, selector !== undefined));
        for (const v of vms) process.stdout.write(vmLab(v, selector !== undefined));
      }),
    );
}

const running = (alive: boolean) => (alive ? ' (its run is still in progress)' : '');

/** A lab in namespaces here: its kind and name, and with `detail` its hosts, notes and faults. */
function nsLab(l: LabEntry, detail: boolean): string {
  const s = l.state;
  const system = s && systemOf(s.kind);
  const extra = s && system?.lab.detail(system.lab.state(s));
  const what = s
    ? `${labTitle(s.kind, s.name)}${extra ? ` (${extra})` : ''} from ${s.spec}, up since ${s.created}`
    : 'leftover of a crashed run';
  const out = [`${l.id}  ${what}${running(l.creatorAlive)}\n  ${plural(l.namespaces.length, 'namespace')}\n`];
  if (s && detail) {
    for (const [host, h] of Object.entries(s.hosts))
      out.push(`  ${host.padEnd(16)} ${h.role.padEnd(12)} ${h.ns}\n`);
    for (const n of s.notes) out.push(`  note: ${n}\n`);
    if (s.faults.length > 0) out.push(`  faults injected: ${s.faults.join(', ')}\n`);
  }
  return out.join('');
}

/** A lab in a VM: its kind and name from the record `lab up --vm` wrote, the VM's qemu. */
function vmLab(v: VmLabEntry, detail: boolean): string {
  const r = v.record;
  const what = r
    ? `${labTitle(r.kind, r.name)} from ${r.spec}, up since ${r.created}, in a VM (kernel ${r.kernel})`
    : `the VM of a "lab test --vm"${v.creatorAlive ? '' : ' left by a crashed run'}`;
  const qemu = v.pid === undefined ? 'qemu is not running' : `qemu PID ${v.pid}`;
  const out = [`${v.id}  ${what}${running(v.creatorAlive)}\n  ${qemu}, ${v.dir}\n`];
  if (r && detail) {
    for (const [host, role] of Object.entries(r.hosts)) out.push(`  ${host.padEnd(16)} ${role}\n`);
    if (r.faults.length > 0) out.push(`  faults injected: ${r.faults.join(', ')}\n`);
  }
  return out.join('');
}
