// A VM lab left running by `lab up --vm`. The VM runs `convergent lab up` on its own kernel, then
// serves requests through its run directory (/run/convergent/vm/<id>, in the VM /run/vm): the host
// drops a shell script into requests/, the VM runs it and leaves its stdout, stderr and exit status
// beside it. `lab check`, `lab exec`, `lab apply` send the same CLI commands that way; `lab down`
// ends qemu by its PID and removes the directory.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../lab/errors.ts';
import { killQuietly, NETNS_PREFIX } from '../lab/netns.ts';
import { isAlive, type OldRecord, recordOf } from '../lab/registry.ts';
import { VM_RUN } from './initramfs.ts';
import { QEMU_PID, VM_ROOT } from './qemu.ts';

/** The record of a VM lab, written by `lab up --vm` into its run directory. */
export interface VmLabRecord {
  readonly id: string;
  /** The kind of spec (cluster, cgnat): which system's lab runs in the VM. */
  readonly kind: string;
  /** The cluster's or the router's name. */
  readonly name: string;
  /** Absolute path of the spec on the host, as given to `lab up --vm`. */
  readonly spec: string;
  readonly kernel: string;
  readonly faults: readonly string[];
  readonly created: string;
  readonly hosts: Readonly<Record<string, string>>;
  /** The CLI in the VM: the working directory and argv before the command's own arguments. */
  readonly cli: { readonly cwd: string; readonly argv: readonly string[] };
}

export interface VmLabEntry {
  readonly id: string;
  readonly dir: string;
  /** Absent for the VM of a `lab test --vm` (in progress, or left by a crash). */
  readonly record?: VmLabRecord;
  /** qemu's PID while it runs this VM. */
  readonly pid?: number;
  /** The process that created it still runs (a `lab test --vm` or `lab up --vm` in progress). */
  readonly creatorAlive: boolean;
}

const RECORD = 'vmlab.json';
const REQUESTS = 'requests';
/** The job prints this once the lab is up in the VM; then it serves requests. */
export const SERVING = 'convergent-vm: serving requests';
const POLL_MS = 200;

/** The job's tail in the VM: serve requests until powered off. No process start while idle. */
export function serveScript(cwd: string): string {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  return [
    `mkdir -p ${VM_RUN}/${REQUESTS} && cd ${VM_RUN}/${REQUESTS} || exit 1`,
    // read -t on a FIFO nobody writes: a 0.2 s wait without starting a sleep process each time.
    'mkfifo /tmp/convergent-tick && exec 9<>/tmp/convergent-tick',
    `echo '${SERVING}'`,
    'while :; do',
    '  for request in *.sh; do',
    '    [ -e "$request" ] || continue',
    '    n="$(basename "$request" .sh)"',
    '    mv "$request" "$n.running"',
    `    (cd ${q(cwd)} && bash "${VM_RUN}/${REQUESTS}/$n.running") > "$n.out" 2> "$n.err"`,
    '    echo $? > "$n.status" && mv "$n.status" "$n.exit"',
    '  done',
    '  read -t 0.2 -u 9 || :',
    'done',
  ].join('\n');
}

export function writeRecord(dir: string, record: VmLabRecord): void {
  writeFileSync(join(dir, RECORD), `${JSON.stringify(record, null, 2)}\n`);
}

// cvg-<pid>-<hex>: the process that made the VM.
const ID = /^cvg-(\d+)-[0-9a-f]+$/;

export function listVmLabs(): VmLabEntry[] {
  if (!existsSync(VM_ROOT)) return [];
  return readdirSync(VM_ROOT)
    .filter((id) => id.startsWith(NETNS_PREFIX) && ID.test(id))
    .sort()
    .map((id) => {
      const dir = join(VM_ROOT, id);
      const raw = readJson<VmLabRecord & OldRecord>(join(dir, RECORD));
      const record = raw && recordOf(raw);
      return { id, dir, record, pid: qemuPid(dir), creatorAlive: isAlive(Number(ID.exec(id)?.[1])) };
    });
}

/** qemu's PID if that process still runs qemu on this directory (not a PID reused since). */
function qemuPid(dir: string): number | undefined {
  const pid = Number(readText(join(dir, QEMU_PID)));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = readText(`/proc/${pid}/cmdline`) ?? '';
  return cmdline.includes(`path=${dir},`) ? pid : undefined;
}

/** Ends the VM (a lab VM has nothing to save) and removes its run directory. */
export function removeVmLab(entry: VmLabEntry): void {
  if (entry.pid !== undefined) killQuietly(entry.pid);
  rmSync(entry.dir, { recursive: true, force: true });
}

/**
 * Runs `script` (bash, in the CLI's directory) in the VM; its stderr lines go to `progress` as they
 * come, its stdout comes back at the end with its exit status.
 */
export async function vmRequest(
  entry: VmLabEntry,
  script: string,
  progress: (line: string) => void,
  files: Readonly<Record<string, string>> = {},
): Promise<{ code: number; stdout: string }> {
  const dir = join(entry.dir, REQUESTS);
  mkdirSync(dir, { recursive: true });
  const n = `${Date.now()}-${process.pid}`;
  for (const [name, text] of Object.entries(files)) writeFileSync(join(entry.dir, name), text);
  // Written aside and renamed: the VM never runs half a script.
  writeFileSync(join(dir, `${n}.new`), `${script}\n`);
  renameSync(join(dir, `${n}.new`), join(dir, `${n}.sh`));
  let shown = 0;
  const followErr = (end: boolean) => {
    const text = readText(join(dir, `${n}.err`)) ?? '';
    const upTo = end ? text.length : text.lastIndexOf('\n') + 1;
    for (const line of text.slice(shown, upTo).split('\n')) if (line !== '') progress(line);
    shown = Math.max(shown, upTo);
  };
  try {
    for (;;) {
      const exit = readText(join(dir, `${n}.exit`));
      if (exit !== undefined) {
        followErr(true);
        return { code: Number(exit.trim()), stdout: readText(join(dir, `${n}.out`)) ?? '' };
      }
      followErr(false);
      if (qemuPid(entry.dir) === undefined)
        throw new LabError(
          `the VM of lab ${entry.id} is gone; remove what is left with: convergent lab down ${entry.id}`,
        );
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    for (const ext of ['sh', 'running', 'out', 'err', 'exit'])
      rmSync(join(dir, `${n}.${ext}`), { force: true });
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readJson<T>(path: string): T | undefined {
  const text = readText(path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}
