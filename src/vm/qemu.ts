// Runs a job in a small VM: the chosen Debian kernel under qemu, the host's root as the VM's
// (read-only, with a writable layer in the VM's memory), and one shared run directory through which
// the job, its output and its results pass. The output file is followed while the VM runs (a serial
// port drops bytes when the host reads late); the kernel's console goes to console.log beside it. The VM is killed and the directory removed when
// the run ends: normally, on an exception, and on SIGINT/SIGTERM/SIGHUP.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LabError } from '../lab/errors.ts';
import { NamespaceRun } from '../lab/netns.ts';
import { buildInitramfs, JOB, VM_RUN } from './initramfs.ts';
import type { Kernel } from './kernel.ts';
import { bootImage, VMLINUX } from './vmlinux.ts';

export const VM_ROOT = '/run/convergent/vm';
const QEMU = 'qemu-system-x86_64';
/** The job's first line: the VM booted and the host root is mounted. */
const STARTED = 'convergent-vm: started';
const EXIT_FILE = 'exit';
const OUTPUT = 'output.log';
const QEMU_LOG = 'qemu.log';
/** qemu's PID, for `lab down` of a VM left running and of the leftovers of a crashed run. */
export const QEMU_PID = 'qemu.pid';
const FOLLOW_MS = 200;

export interface VmJob {
  readonly kernel: Kernel;
  /** Shell commands, run by /bin/sh in the VM with its output on the host's progress. */
  readonly script: string;
  /** Files the job reads, written into the run directory (in the VM: /run/vm/<name>). */
  readonly files?: Readonly<Record<string, string>>;
  /** Files the job writes into /run/vm, read back for the caller. */
  readonly collect?: readonly string[];
  readonly progress: (line: string) => void;
  readonly timeoutMs?: number;
  readonly memoryMb?: number;
  /**
   * A VM that stays up (`lab up --vm`): when the job prints this line, runInVm returns and leaves
   * the VM running, with its run directory, for later requests (vm/resident.ts).
   */
  readonly residentAfter?: string;
}

export interface VmResult {
  /** The job's exit status. */
  readonly code: number;
  /** The collected files the job wrote, by name. */
  readonly files: ReadonlyMap<string, string>;
  readonly bootMs: number;
  readonly totalMs: number;
  /** With residentAfter: the VM left running, its id (cvg-<pid>-<hex>), directory and qemu's PID. */
  readonly resident?: { readonly id: string; readonly dir: string; readonly pid: number };
}

export function qemuMissing(): string | undefined {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return r.status === 0
    ? undefined
    : `the VM lab needs qemu: apt-get install qemu-system-x86 (${QEMU}: ${r.error?.message ?? r.stderr.trim()})`;
}

/** Calls `line` for each complete line appended to `path` since the last call; `end` flushes the rest. */
function follower(path: string, line: (text: string) => void): (end?: boolean) => void {
  let offset = 0;
  let partial = '';
  return (end = false) => {
    const text = readFileSync(path);
    if (text.length > offset) {
      partial += text.subarray(offset).toString('utf8');
      offset = text.length;
    }
    const lines = partial.split('\n');
    partial = end ? '' : (lines.pop() as string);
    for (const l of lines) if (l !== '' || !end) line(l);
  };
}

/** The job's script as the VM's init runs it: its output and exit status into the shared directory. */
function jobScript(job: VmJob): string {
  return [
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONDONTWRITEBYTECODE=1',
    `exec >>${VM_RUN}/${OUTPUT} 2>&1`,
    `echo '${STARTED}'`,
    '(',
    job.script,
    `) ; echo $? > ${VM_RUN}/${EXIT_FILE}`,
    // Power off at once; the sleep keeps init alive until the kernel does it.
    'echo o > /proc/sysrq-trigger; sleep 30',
    '',
  ].join('\n');
}

function qemuArgs(job: VmJob, image: string, initrd: string, dir: string): string[] {
  return [
    '-accel',
    'tcg,thread=multi',
    '-smp',
    String(Math.min(2, availableParallelism())),
    '-m',
    String(job.memoryMb ?? 1024),
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    image,
    '-initrd',
    initrd,
    '-append',
    // A throwaway VM running a lab: no Spectre mitigations, which cost every emulated syscall.
    'console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off',
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${dir},mount_tag=vmrun,security_model=none`,
    '-serial',
    `file:${join(dir, 'console.log')}`,
  ];
}

/** Resolves with qemu's exit code, or null once the job said it stays resident; kills qemu at the timeout. */
function untilDone(
  qemu: ChildProcess,
  follow: () => void,
  resident: () => boolean,
  timeoutMs: number,
): Promise<number | null> {
  return new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
    const timer = setInterval(() => {
      follow();
      if (resident()) done(null);
    }, FOLLOW_MS);
    const done = (code: number | null) => {
      clearTimeout(kill);
      clearInterval(timer);
      resolve(code);
    };
    qemu.on('exit', done);
  });
}

/** A VM that stopped before its job ended: qemu's errors and the console's last lines. */
function stoppedEarly(job: VmJob, dir: string, exited: number | null, killed: number | undefined): LabError {
  const stderr = readFileSync(join(dir, QEMU_LOG), 'utf8').trim();
  const console = readFileSync(join(dir, 'console.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
  return new LabError(
    `the VM (kernel ${job.kernel.version}) stopped before its job ended (qemu exit ${exited}${killed !== undefined ? `, killed after ${killed / 1000} s` : ''})${stderr ? `: ${stderr}` : ''}\nlast console lines:\n${console}`,
  );
}

/** The files the job asked for, those it wrote. */
function collected(job: VmJob, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of job.collect ?? []) {
    const path = join(dir, name);
    if (existsSync(path)) files.set(name, readFileSync(path, 'utf8'));
  }
  return files;
}

export async function runInVm(job: VmJob): Promise<VmResult> {
  const missing = qemuMissing();
  if (missing) throw new LabError(missing);
  const run = new NamespaceRun(); // no namespaces: its id, its cleanup and its signal handling
  const dir = join(VM_ROOT, run.id);
  run.atCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // Boot time counts from here: the image and the initramfs are made for each run.
    const start = performance.now();
    mkdirSync(dir, { recursive: true });
    const image = bootImage(job.kernel.image, dir);
    const initrd = buildInitramfs(job.kernel, dir);
    for (const [name, text] of Object.entries(job.files ?? {})) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, JOB), jobScript(job));
    let bootMs = Number.NaN;
    const output = join(dir, OUTPUT);
    writeFileSync(output, '');
    // Its own session, and its errors in a file rather than a pipe: a resident VM outlives us.
    const qemu = spawn(QEMU, qemuArgs(job, image, initrd, dir), {
      detached: true,
      stdio: ['ignore', 'ignore', openSync(join(dir, QEMU_LOG), 'w')],
    });
    if (qemu.pid === undefined) throw new LabError(`${QEMU} did not start`);
    run.track(qemu.pid);
    writeFileSync(join(dir, QEMU_PID), `${qemu.pid}\n`);
    let resident = false;
    const follow = follower(output, (line) => {
      if (line === STARTED) {
        bootMs = performance.now() - start;
        // qemu has loaded both into the VM's memory: the 66 MB image need not stay in /run.
        rmSync(join(dir, VMLINUX), { force: true });
      } else if (line === job.residentAfter) resident = true;
      else if (!resident) job.progress(line);
    });
    const timeoutMs = job.timeoutMs ?? 600_000;
    const exited = await untilDone(qemu, follow, () => resident, timeoutMs);
    const totalMs = performance.now() - start;
    if (resident) {
      qemu.unref();
      run.keep();
      return { code: 0, files: new Map(), bootMs, totalMs, resident: { id: run.id, dir, pid: qemu.pid } };
    }
    follow(true);
    const exitFile = join(dir, EXIT_FILE);
    if (!existsSync(exitFile))
      throw stoppedEarly(job, dir, exited, totalMs >= timeoutMs ? timeoutMs : undefined);
    const code = Number(readFileSync(exitFile, 'utf8').trim());
    return { code, files: collected(job, dir), bootMs, totalMs };
  } finally {
    run.cleanup();
  }
}
