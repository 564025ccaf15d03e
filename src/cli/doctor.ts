// convergent doctor [FILE] [--vm]: whether this machine can run the lab (of FILE, or any): each
// tool with its Debian package, the kernel's features, root; and one apt-get line for what is missing.
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import type { Command } from '@commander-js/extra-typings';
import type { HostPlan } from '../host/plan.ts';
import {
  type Answer,
  CAPABILITIES,
  type Capability,
  KERNEL_FEATURES,
  probeKernel,
} from '../lab/capabilities.ts';
import {
  allNeeds,
  BRIDGE_NF,
  cgnatNeeds,
  clusterNeeds,
  installLine,
  loadModule,
  locate,
  missingModules,
  missingOf,
  REQUIREMENTS,
  type Reason,
} from '../lab/preflight.ts';
import { realRunner } from '../lab/run.ts';
import { prepare } from '../systems/cluster/lab/lab.ts';
import { readAnySpec } from '../systems/read.ts';
import { EXIT, reportAndExit } from './errors.ts';

const row = (status: string, name: string, pkg: string, why: string) =>
  `  ${status.padEnd(8)} ${name.padEnd(25)} ${pkg.padEnd(18)} ${why}`.trimEnd();

/** What the lab of FILE needs (or every lab's needs), and which kernel devices it must have here. */
function needsOf(
  file: string | undefined,
  vm: boolean,
): { needs: Reason[]; plans: readonly HostPlan[]; devices: Capability[]; what: string } {
  if (file === undefined)
    return {
      needs: allNeeds(),
      plans: [],
      devices: [],
      what: 'the lab (any spec, the VM lab and the benchmarks)',
    };
  const where = vm ? 'in a VM (--vm)' : 'on this kernel';
  const spec = readAnySpec(file);
  if (spec.kind === 'cgnat') {
    const vrf = spec.cgnat.backend === 'vrf' && !vm;
    return {
      needs: cgnatNeeds(vm),
      plans: [],
      devices: vrf ? ['vrf'] : [],
      what: `the lab of ${file} (CGNAT ${spec.cgnat.name}, backend ${spec.cgnat.backend}) ${where}`,
    };
  }
  const { plans } = prepare(file);
  // A cluster's modules count only on this kernel: the VM's kernel loads its own.
  return {
    needs: clusterNeeds(plans, vm),
    plans: vm ? [] : plans,
    devices: [],
    what: `the lab of ${file} (cluster ${spec.cluster.name}) ${where}`,
  };
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'list the system tools and kernel features the lab needs, which are missing, and the apt-get line that adds them',
    )
    .argument('[file]', 'only what the lab of this spec needs')
    .option('--vm', 'with a spec: for lab test --vm (qemu, a Debian kernel) instead of this kernel')
    .action((file, options) => {
      try {
        const vm = options.vm === true;
        const { needs, plans, devices, what } = needsOf(file, vm);
        const out: string[] = [`what ${what} needs:`];
        const seen = new Set<string>();
        for (const r of needs) {
          if (seen.has(r.need)) continue;
          seen.add(r.need);
          const found = locate(r.need);
          const at = found !== undefined && !found.startsWith('/') ? ` (${found})` : '';
          out.push(row(found ? 'ok' : 'MISSING', r.need, REQUIREMENTS[r.need].package, `${r.why}${at}`));
        }
        const missing = missingOf(needs);
        const root = process.getuid?.() === 0;
        let kernelFails = 0;
        if (!vm) {
          const lines = kernelLines(root, devices, file === undefined);
          kernelFails = lines.fails;
          out.push('', ...lines.out);
        }
        // A spec's kernel modules: the lab never loads one, it asks for it.
        const modules = missingModules(plans);
        const used = plans.flatMap((p) => p.modules.map((m) => ({ node: p.node, ...m })));
        for (const m of used.filter((x, i) => used.findIndex((y) => y.name === x.name) === i)) {
          const lacking = modules.find((x) => x.name === m.name);
          out.push(
            row(
              lacking ? 'MISSING' : 'ok',
              m.name,
              '',
              lacking ? loadModule(lacking) : `loaded (${m.source})`,
            ),
          );
        }
        out.push(
          '',
          root
            ? 'root: yes'
            : 'root: no; the lab creates network namespaces and needs root (sudo, or as root)',
        );
        if (missing.length > 0)
          out.push(
            `missing: ${missing.map((r) => r.need).join(', ')}; install ${missing.length === 1 ? 'it' : 'them'} with:`,
            `  ${installLine(missing.map((r) => r.need))}`,
          );
        const ready = missing.length === 0 && kernelFails === 0 && modules.length === 0 && root;
        if (ready) out.push(`everything ${what} needs is here`);
        process.stdout.write(`${out.join('\n')}\n`);
        process.exitCode = ready ? EXIT.ok : EXIT.lab;
      } catch (err) {
        reportAndExit(err);
      }
    });
}

/**
 * The kernel's part, probed in a namespace of doctor's own (root only). The features every lab uses
 * count; device types only where the spec needs them (the lab models a pipe without VLAN otherwise).
 */
function kernelLines(
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
