// convergent lab up FILE: bring the lab up and leave it running, here or in a VM.
import type { Command } from '@commander-js/extra-typings';
import { labDir } from '../../lab/registry.ts';
import { type Kernel, pickKernels } from '../../vm/kernel.ts';
import { vmLabUp } from '../../vm/lab.ts';
import { action, UsageError } from '../errors.ts';
import { collect, progress } from './common.ts';
import { type LabStart, startLab } from './prepare.ts';
import { ansibleLine, upMessage } from './report.ts';

export function upCommand(lab: Command): void {
  lab
    .command('up')
    .description('bring the lab up and leave it running (see lab exec, lab check, lab down)')
    .argument('<file>', 'cluster spec (YAML)')
    .option('--fault <name>', 'inject a known mistake', collect, [])
    .option('--vm', 'in a VM booting a Debian kernel (qemu), which stays up until lab down')
    .option('--kernel <version>', 'with --vm: the kernel (e.g. 6.1)')
    .option('--backend <backend>', 'a CGNAT spec: bring it up on this backend instead (vrf or netns)')
    .option(
      '--ssh',
      'a cluster: each node runs its own sshd on its uplink address, for Ansible (contrib/ansible)',
    )
    .action(
      action(async (file, options) => {
        const { backend, ssh } = options;
        if (ssh && options.vm) throw new UsageError('--ssh goes without --vm');
        const start = startLab(file, { backend, ssh }, { ...options, kernel: options.kernel !== undefined });
        if (options.vm) return upInVm(start, options.kernel, backend);
        const { prepared } = start;
        const state = await prepared.up(progress);
        const what = `(${prepared.label}${prepared.detail ? `, ${prepared.detail}` : ''})`;
        process.stdout.write(upMessage(state.id, what, Object.keys(state.hosts), prepared.first));
        if (ssh) process.stdout.write(ansibleLine(labDir(state.id)));
      }),
    );
}

/** `lab up --vm`: the VM runs `lab up`, then stays up until `lab down`. */
async function upInVm({ prepared, faults }: LabStart, version?: string, backend?: string): Promise<void> {
  const [kernel] = pickKernels(version === undefined ? [] : [version]) as [Kernel];
  progress(`booting kernel ${kernel.version} in a VM (qemu); it stays up until lab down`);
  const up = await vmLabUp(prepared.vm(), {
    kernel,
    faults,
    backend,
    progress: (l) => progress(`[${kernel.version}] ${l}`),
  });
  const booted = `booted in ${(up.bootMs / 1000).toFixed(1)} s`;
  process.stdout.write(
    upMessage(
      up.id,
      `in a VM (${prepared.label}, kernel ${up.kernel}, ${booted})`,
      Object.keys(up.hosts),
      prepared.first,
    ),
  );
}
