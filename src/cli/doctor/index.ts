// convergent doctor [FILE] [--vm]: whether this machine can run the lab (of FILE, or any): each
// tool with its Debian package, the kernel's features, root; and one apt-get line for what is missing.
import type { Command } from '@commander-js/extra-typings';
import type { HostPlan } from '../../host/plan.ts';
import type { Capability } from '../../lab/capabilities.ts';
import {
  allNeeds,
  installLine,
  loadModule,
  locate,
  missingModules,
  missingOf,
  REQUIREMENTS,
  type Reason,
} from '../../lab/preflight.ts';
import { readSpec } from '../../systems/registry.ts';
import { action, EXIT } from '../errors.ts';
import { kernelLines, row } from './kernel.ts';

interface Needs {
  readonly needs: Reason[];
  readonly plans: readonly HostPlan[];
  readonly devices: Capability[];
  readonly what: string;
}

/** What the lab of FILE needs (or every lab's needs), and which kernel devices it must have here. */
function needsOf(file: string | undefined, vm: boolean): Needs {
  if (file === undefined)
    return {
      needs: allNeeds(),
      plans: [],
      devices: [],
      what: 'the lab (any spec, the VM lab and the benchmarks)',
    };
  const { system, spec } = readSpec(file);
  const lab = system.lab.prepare(spec, file, [], {});
  const where = vm ? 'in a VM (--vm)' : 'on this kernel';
  const what = `the lab of ${file} (${lab.label}${lab.detail ? `, ${lab.detail}` : ''}) ${where}`;
  return { ...lab.needs(vm), what };
}

/** Each tool: found, or missing with its package. */
function toolLines(needs: readonly Reason[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of needs) {
    if (seen.has(r.need)) continue;
    seen.add(r.need);
    const found = locate(r.need);
    const at = found !== undefined && !found.startsWith('/') ? ` (${found})` : '';
    out.push(row(found ? 'ok' : 'MISSING', r.need, REQUIREMENTS[r.need].package, `${r.why}${at}`));
  }
  return out;
}

/** A spec's kernel modules: the lab never loads one, it asks for it. */
function moduleLines(plans: readonly HostPlan[]): { out: string[]; missing: number } {
  const modules = missingModules(plans);
  const used = plans.flatMap((p) => p.modules.map((m) => ({ node: p.node, ...m })));
  const out = used
    .filter((x, i) => used.findIndex((y) => y.name === x.name) === i)
    .map((m) => {
      const lacking = modules.find((x) => x.name === m.name);
      return row(
        lacking ? 'MISSING' : 'ok',
        m.name,
        '',
        lacking ? loadModule(lacking) : `loaded (${m.source})`,
      );
    });
  return { out, missing: modules.length };
}

function doctor(file: string | undefined, vm: boolean): void {
  const { needs, plans, devices, what } = needsOf(file, vm);
  const out = [`what ${what} needs:`, ...toolLines(needs)];
  const missing = missingOf(needs);
  const root = process.getuid?.() === 0;
  const kernel = vm ? { out: [], fails: 0 } : kernelLines(root, devices, file === undefined);
  if (!vm) out.push('', ...kernel.out);
  const modules = moduleLines(plans);
  out.push(...modules.out);
  out.push(
    '',
    root ? 'root: yes' : 'root: no; the lab creates network namespaces and needs root (sudo, or as root)',
  );
  if (missing.length > 0)
    out.push(
      `missing: ${missing.map((r) => r.need).join(', ')}; install ${missing.length === 1 ? 'it' : 'them'} with:`,
      `  ${installLine(missing.map((r) => r.need))}`,
    );
  const ready = missing.length === 0 && kernel.fails === 0 && modules.missing === 0 && root;
  if (ready) out.push(`everything ${what} needs is here`);
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = ready ? EXIT.ok : EXIT.lab;
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'list the system tools and kernel features the lab needs, which are missing, and the apt-get line that adds them',
    )
    .argument('[file]', 'only what the lab of this spec needs')
    .option('--vm', 'with a spec: for lab test --vm (qemu, a Debian kernel) instead of this kernel')
    .action(action((file, options) => doctor(file, options.vm === true)));
}
