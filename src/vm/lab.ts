// `lab test --vm`: the same lab and checks, run by the same code, inside a VM booting a chosen
// Debian kernel. The spec is validated and compiled here first (bad input never boots a VM); the VM
// runs `convergent lab test --json` and the host prints the report as the namespace lab would.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../lab/errors.ts';
import type { LabReport } from '../lab/result.ts';
import { VM_RUN } from './initramfs.ts';
import type { Kernel } from './kernel.ts';
import { describePace, paceOf, paceScript, type VmPace } from './pace.ts';
import { runInVm } from './qemu.ts';
import { SERVING, serveScript, type VmLabRecord, writeRecord } from './resident.ts';

export interface VmLabOptions {
  readonly kernel: Kernel;
  readonly progress: (line: string) => void;
  readonly faults?: readonly string[];
  readonly cut?: string;
  /** A CGNAT spec's backend, when not the spec's own. */
  readonly backend?: string;
}

/** What the VM needs of a spec: the file, and the modules its plans rely on (a cluster's or a CGNAT router's). */
export interface VmSpec {
  readonly file: string;
  readonly plans: readonly { readonly modules: readonly { readonly name: string }[] }[];
}

/** What `lab up --vm` records of the spec: its name and its hosts with their roles. */
export interface UpSpec extends VmSpec {
  /** The kind of spec (cluster, cgnat), recorded for `lab status`. */
  readonly kind: string;
  readonly name: string;
  readonly hosts: Readonly<Record<string, string>>;
}

export interface VmLabReport extends LabReport {
  readonly vm: {
    readonly kernel: string;
    readonly bootMs: number;
    readonly totalMs: number;
    /** What the VM measured of its speed when it booted, and the factor on the lab's timeouts. */
    readonly pace?: VmPace;
  };
}

/**
 * The command that runs this very code in the VM, fastest first: the bundle with its code cache
 * (scripts/bundle.mjs), the built CLI, or the TypeScript sources under tsx. A build older than the
 * sources is skipped when running from them. Under emulation node starts the bundle in about 1.8 s,
 * dist/'s modules in 5-6 s and tsx in 10 s (bench/README.md).
 */
function cliCommand(): { cwd: string; argv: string[] } {
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  const fromSource = import.meta.url.endsWith('.ts');
  const current = (path: string) =>
    existsSync(path) && (!fromSource || statSync(path).mtimeMs >= newestSource(join(cwd, 'src')));
  for (const built of [join(cwd, 'dist', 'bundle', 'start.cjs'), join(cwd, 'dist', 'cli', 'main.js')])
    if (current(built)) return { cwd, argv: ['node', built] };
  return { cwd, argv: ['node', '--import', 'tsx', join(cwd, 'src', 'cli', 'main.ts')] };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|cjs)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

const SPEC = 'spec.yaml';

/** The VM's kernel is its own: its modules load on demand, unlike on the host (systems/cluster/lab/build.ts). */
function modprobe(p: VmSpec): string {
  const modules = new Set([
    'br_netfilter',
    'nf_conntrack',
    ...p.plans.flatMap((x) => x.modules.map((m) => m.name)),
  ]);
  return `modprobe -a ${[...modules].join(' ')}`;
}

const faultArgs = (faults: readonly string[] = []) => faults.flatMap((f) => ['--fault', f]);

/** The job's lines for the user: the pace line in words (and kept), the lab's without its prefix. */
function jobProgress(progress: (line: string) => void) {
  let pace: VmPace | undefined;
  return {
    progress: (line: string) => {
      const measured = paceOf(line);
      if (measured) pace = measured;
      progress(measured ? describePace(measured) : line.replace(/^lab: /, ''));
    },
    pace: () => pace,
  };
}

export async function vmLabTest(p: VmSpec, options: VmLabOptions): Promise<VmLabReport> {
  const { cwd, argv } = cliCommand();
  const args = [
    ...argv,
    'lab',
    'test',
    `${VM_RUN}/${SPEC}`,
    '--json',
    ...faultArgs(options.faults),
    ...(options.cut ? ['--cut', options.cut] : []),
    ...(options.backend ? ['--backend', options.backend] : []),
  ];
  const job = jobProgress(options.progress);
  const result = await runInVm({
    kernel: options.kernel,
    files: { [SPEC]: readFileSync(p.file, 'utf8') },
    collect: ['report.json'],
    progress: job.progress,
    script: [
      modprobe(p),
      paceScript(),
      `cd ${quote(cwd)}`,
      `${args.map(quote).join(' ')} > ${VM_RUN}/report.json`,
    ].join('\n'),
  });
  const text = result.files.get('report.json') ?? '';
  if (result.code === 4 || text.trim() === '')
    throw new LabError(
      `the lab could not be built in the VM (kernel ${options.kernel.version}, exit ${result.code}); its output is above`,
    );
  const report = JSON.parse(text) as LabReport;
  return {
    ...report,
    vm: { kernel: options.kernel.version, bootMs: result.bootMs, totalMs: result.totalMs, pace: job.pace() },
  };
}

/** `lab up --vm`: the VM runs `lab up`, then stays up serving requests (vm/resident.ts). */
export async function vmLabUp(
  p: UpSpec,
  options: VmLabOptions,
): Promise<VmLabRecord & { bootMs: number; totalMs: number }> {
  const cli = cliCommand();
  const up = [
    ...cli.argv,
    'lab',
    'up',
    `${VM_RUN}/${SPEC}`,
    ...faultArgs(options.faults),
    ...(options.backend ? ['--backend', options.backend] : []),
  ];
  const result = await runInVm({
    kernel: options.kernel,
    files: { [SPEC]: readFileSync(p.file, 'utf8'), 'serve.sh': serveScript(cli.cwd) },
    progress: jobProgress(options.progress).progress,
    // lab up's own stdout names the lab inside the VM; the host prints how to reach the VM's.
    // The pace stays in the environment of the requests the VM serves (lab check, exec, apply).
    script: [
      modprobe(p),
      paceScript(),
      `cd ${quote(cli.cwd)}`,
      `${up.map(quote).join(' ')} > /dev/null`,
      `exec bash ${VM_RUN}/serve.sh`,
    ].join('\n'),
    residentAfter: SERVING,
  });
  if (!result.resident)
    throw new LabError(
      `the lab could not be brought up in the VM (kernel ${options.kernel.version}, exit ${result.code}); its output is above`,
    );
  const record: VmLabRecord = {
    id: result.resident.id,
    kind: p.kind,
    name: p.name,
    spec: p.file,
    kernel: options.kernel.version,
    faults: options.faults ?? [],
    created: new Date().toISOString(),
    hosts: p.hosts,
    cli,
  };
  writeRecord(result.resident.dir, record);
  return { ...record, bootMs: result.bootMs, totalMs: result.totalMs };
}
