// Labs on this machine: each has a state directory (/run/convergent/lab/<id>/, with state.json, a
// copy of the spec and the files loaded into its nodes) and namespaces named <id>-<host>. A lab made
// by `lab up` outlives the process that made it; `lab down` finds it here. `lab down --all` removes
// every lab whose creating process is gone: those of `lab up` and the leftovers of crashed runs.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deleteNamespaces, killQuietly, NETNS_PREFIX } from './netns.ts';
import type { Runner } from './run.ts';

export const LAB_ROOT = process.env.CONVERGENT_LAB_DIR ?? '/run/convergent/lab';

/**
 * What every lab has, whatever its system: the engine's part of state.json. A system's state adds
 * its own fields (systems/<kind>/system.ts) and is read by the system of its `kind`.
 */
export interface LabRecord {
  readonly id: string;
  /** The kind of spec the lab was built from (cluster, cgnat): the system that reads the rest. */
  readonly kind: string;
  /** The cluster's or the router's name. */
  readonly name: string;
  /** Absolute path of the spec the lab was built from. */
  readonly spec: string;
  readonly faults: readonly string[];
  readonly created: string;
  readonly hosts: Readonly<Record<string, { readonly role: string; readonly ns: string }>>;
  /** Servers started in the lab's namespaces. */
  readonly pids: readonly number[];
  /** The first client port the next run of checks may use; each run reserves its range first. */
  nextPort: number;
  readonly notes: readonly string[];
}

/** The copy of the spec the lab was built from: `lab check` reads this, not the file as edited since. */
export const SPEC_COPY = 'spec.yaml';

export const labDir = (id: string) => join(LAB_ROOT, id);

/** Writes state.json into the lab's directory, which only buildLab creates (a lab removed meanwhile stays removed). */
export function writeState(state: LabRecord): void {
  const dir = labDir(state.id);
  if (!existsSync(dir)) return;
  // Written aside and renamed: a reader (lab status, lab down) never sees half a file.
  writeFileSync(join(dir, 'state.json.new'), `${JSON.stringify(state, null, 2)}\n`);
  renameSync(join(dir, 'state.json.new'), join(dir, 'state.json'));
}

export function readState(id: string): LabRecord | undefined {
  const file = join(labDir(id), 'state.json');
  if (!existsSync(file)) return undefined;
  return recordOf(JSON.parse(readFileSync(file, 'utf8')) as LabRecord & OldRecord);
}

/** A state.json written before labs had a kind and a name: a cluster's, or one with kind: 'cgnat'. */
export interface OldRecord {
  readonly kind?: string;
  readonly cluster?: string;
}

/** A lab's or a VM's record as the current version writes it, from one written by this or an earlier one. */
export function recordOf<R extends { readonly id: string; readonly kind: string; readonly name: string }>(
  raw: R & OldRecord,
): R {
  const { id, kind, name, cluster, ...rest } = raw;
  // kind and name first, where the current version writes them.
  return { id, kind: kind ?? 'cluster', name: name ?? cluster ?? '', ...rest } as R;
}

export interface LabEntry {
  readonly id: string;
  readonly state?: LabRecord;
  readonly namespaces: readonly string[];
  /** The process that created it still runs (a `lab test` in progress). */
  readonly creatorAlive: boolean;
}

// cvg-<pid>-<word>-<host>: a run (random hex word), or a benchmark's bare namespaces ("bench").
const ID = /^(cvg-(\d+)-[0-9a-z]+)-/;

export function listLabs(runner: Runner): LabEntry[] {
  const namespaces = runner(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((line) => line.split(' ')[0] as string)
    .filter((name) => name.startsWith(NETNS_PREFIX));
  const ids = new Set<string>();
  for (const ns of namespaces) {
    const m = ID.exec(ns);
    if (m) ids.add(m[1] as string);
  }
  if (existsSync(LAB_ROOT)) for (const id of readdirSync(LAB_ROOT)) if (ID.test(`${id}-`)) ids.add(id);
  return [...ids].sort().map((id) => ({
    id,
    state: readState(id),
    namespaces: namespaces.filter((ns) => ns.startsWith(`${id}-`)),
    creatorAlive: isAlive(Number(ID.exec(`${id}-`)?.[2])),
  }));
}

export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What `lab down --all` removes: every lab whose creating process is gone (never a run in progress). */
export function removableByAll(labs: readonly LabEntry[]): LabEntry[] {
  return labs.filter((l) => !l.creatorAlive);
}

/** Kills what runs in the lab's namespaces (our servers, a `lab exec` left running), then removes it. */
export function removeLab(entry: LabEntry, runner: Runner): void {
  for (const ns of entry.namespaces) {
    const pids = runner(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of pids) killQuietly(pid);
  }
  deleteNamespaces(runner, entry.namespaces);
  rmSync(labDir(entry.id), { recursive: true, force: true });
}
