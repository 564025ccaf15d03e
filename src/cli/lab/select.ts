// The lab a command means, on this machine: in namespaces here, or in a VM left by `lab up --vm`.
import { type LabEntry, type LabRecord, listLabs } from '../../lab/registry.ts';
import { realRunner } from '../../lab/run.ts';
import { type AnySystem, systemOf } from '../../systems/registry.ts';
import { listVmLabs, type VmLabEntry, type VmLabRecord, vmRequest } from '../../vm/resident.ts';
import { UsageError } from '../errors.ts';
import { progress } from './common.ts';

export type AnyLab =
  | { readonly ns: LabEntry; readonly vm?: undefined }
  | { readonly vm: VmLabEntry; readonly ns?: undefined };

/**
 * The lab a command means: by id or its spec's name, or the only one there is. A lab whose run is
 * still in progress (another `lab test`) is only taken when named by its id; leftovers of a crashed
 * run only by `lab down <id>`.
 */
export function selectLab(selector: string | undefined, leftovers = false): AnyLab {
  const taken = (id: string, complete: boolean, creatorAlive: boolean) =>
    (complete || leftovers) && (!creatorAlive || id === selector);
  const labs: (AnyLab & { id: string; name?: string })[] = [
    ...listLabs(realRunner)
      .filter((l) => taken(l.id, l.state !== undefined, l.creatorAlive))
      .map((l) => ({ ns: l, id: l.id, name: l.state?.name })),
    ...listVmLabs()
      .filter((l) => taken(l.id, l.record !== undefined, l.creatorAlive))
      .map((l) => ({ vm: l, id: l.id, name: l.record?.name })),
  ];
  const match = selector === undefined ? labs : labs.filter((l) => l.id === selector || l.name === selector);
  if (match.length === 1) return match[0] as AnyLab;
  const known =
    labs.map((l) => `${l.id} (${l.name ?? 'leftover'}${l.vm ? ', in a VM' : ''})`).join(', ') || 'none';
  if (match.length === 0)
    throw new UsageError(`${selector ? `no lab "${selector}"` : 'no lab is up'}; labs: ${known}`);
  throw new UsageError(`${match.length} labs match; name one by id: ${known}`);
}

/** A VM lab's request: the VM's progress lines as the lab's, tagged with its kernel. */
export async function inVm(
  vm: VmLabEntry,
  args: readonly string[],
  files: Readonly<Record<string, string>> = {},
  lines: (line: string) => void = (l) => progress(`[${vm.record?.kernel}] ${l.replace(/^lab: /, '')}`),
): Promise<{ code: number; stdout: string }> {
  const record = vm.record as VmLabRecord;
  const quote = (x: string) => `'${x.replaceAll("'", "'\\''")}'`;
  return vmRequest(vm, [...record.cli.argv, ...args].map(quote).join(' '), lines, files);
}

/** A lab's state with the system of its kind; a kind this version does not know is refused. */
export function labSystem(
  id: string,
  record: LabRecord | undefined,
): { system: AnySystem; state: LabRecord } {
  if (record === undefined)
    throw new UsageError(`lab ${id} is the leftover of a crashed run; remove it: lab down ${id}`);
  const system = systemOf(record.kind);
  if (!system)
    throw new UsageError(`lab ${id} is of kind "${record.kind}", which this convergent does not know`);
  return { system, state: system.lab.state(record) };
}

/** "cluster part4", "CGNAT demo": a lab's kind and name, for `lab status` and `lab down`. */
export function labTitle(kind: string, name: string): string {
  return `${systemOf(kind)?.title ?? kind} ${name}`;
}
