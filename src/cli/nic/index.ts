// convergent nic up|down: what a hypervisor's hook runs when it plugs or unplugs a guest's tap (F21).
// contrib/ has the hooks for Ganeti (kvm-ifup-custom, kvm-ifdown-custom), Xen (vif-custom) and libvirt.
import type { Command } from '@commander-js/extra-typings';
import { nicDownCommand } from './down.ts';
import { nicUpCommand } from './up.ts';

export function nicCommand(program: Command): void {
  const nic = program
    .command('nic')
    .description(
      "plug or unplug a guest's tap on this node: anti-spoofing, private network, firewall profile",
    );
  nicUpCommand(nic);
  nicDownCommand(nic);
}
