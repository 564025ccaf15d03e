// doctor's kernel part: the features every lab uses and the device types a spec needs, probed.
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import {
  type Answer,
  CAPABILITIES,
  type Capability,
  KERNEL_FEATURES,
  probeKernel,
} from '../../lab/capabilities.ts';
import { BRIDGE_NF, locate } from '../../lab/preflight.ts';
import { realRunner } from '../../lab/run.ts';

export const row = (status: string, name: string, pkg: string, why: string) =>
  `  ${status.padEnd(8)} ${name.padEnd(25)} ${pkg.padEnd(18)} ${why}`.trimEnd();

/**
 * The kernel's part, probed in a namespace of doctor's own (root only). The features every lab uses
 * count; device types only where the spec needs them (the lab models a pipe without VLAN otherwise).
 */
export function kernelLines(
  root: boolean,
  required: readonly Capability[],
  any: boolean,
): { out: string[]; fails: number } {
  const head = `kernel ${release()} (probed in a namespace of its own, removed after):`;
  if (!root) return { out: [head.replace(/\(.*\)/, '(not probed: needs root)')], fails: 0 };
  const missingTool = (['ip', 'nft'] as const).filter((t) => locate(t) === undefined);
  if (missingTool.includes('ip'))
    return { out: [head.replace(/\(.*\)/, '(not probed: needs ip)')], fails: 0 };
  const { features, devices } = probeKernel(realRunner);
  const out = [head];
  let fails = 0;
  const show = (name: string, answer: Answer, count: boolean) => {
    if (answer !== true && count) fails++;
    out.push(row(answer === true ? 'ok' : count ? 'MISSING' : 'no', name, '', answer === true ? '' : answer));
  };
  for (const f of KERNEL_FEATURES) {
    const unasked = (f === 'nf_tables' || f === 'conntrack') && missingTool.includes('nft');
    if (unasked) out.push(row('?', f, '', 'not probed: needs nft'));
    else show(f, features.get(f) ?? 'not probed', true);
  }
  // A spec's own modules are checked with its plans; without one, what strategy stateless asks for.
  if (any)
    out.push(
      row(
        existsSync(BRIDGE_NF) ? 'ok' : 'no',
        'br_netfilter',
        '',
        existsSync(BRIDGE_NF) ? 'loaded' : 'not loaded; strategy stateless needs it: modprobe br_netfilter',
      ),
    );
  if (devices) {
    for (const [name, c] of Object.entries(CAPABILITIES) as [Capability, (typeof CAPABILITIES)[Capability]][])
      show(
        c.what,
        devices.has(name) || `not offered; "lab test --vm" runs the lab on a Debian kernel that has them`,
        required.includes(name),
      );
  }
  return { out, fails };
}
