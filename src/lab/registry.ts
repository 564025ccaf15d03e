// Labs on this machine: each has a state directory (/run/convergent/lab/<id>/, with state.json and
// the files loaded into its nodes) and namespaces named <id>-<host>. A lab made by `lab up` outlives
// the process that made it; `lab down` finds it here. Namespaces with our prefix and no living
// creator are leftovers of a crashed run, removed by `lab down --all`.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killQuietly, NETNS_PREFIX } from './netns.ts';
import type { Runner } from './run.ts';
import type { HostRole } from './topology.ts';

export const LAB_ROOT = process.env.CONVERGENT_LAB_DIR ?? '/run/convergent/lab';

export interface LabState {
  readonly id: string;
  readonly cluster: string;
  /** Absolute path of the spec the lab was built from. */
  readonly spec: string;
  readonly faults: readonly string[];
  readonly created: string;
  readonly hosts: Readonly<Record<string, { readonly role: HostRole; readonly ns: string }>>;
  /** Servers started in the lab's namespaces. */
  readonly pids: readonly number[];
  /** Client ports for the next run of checks: each run uses fresh ones (no TIME_WAIT clashes). */
  nextPort: number;
  readonly notes: readonly string[];
}

export const labDir = (id: string) => join(LAB_ROOT, id);

export function writeState(state: LabState): void {
  mkdirSync(labDir(state.id), { recursive: true });
  writeFileSync(join(labDir(state.id), 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(id: string): LabState | undefined {
  const file = join(labDir(id), 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

export interface LabEntry {
  readonly id: string;
  readonly state?: LabState;
  readonly namespaces: readonly string[];
  /** The process that created it still runs (a `lab test` in progress). */
  readonly creatorAlive: boolean;
}

const ID = /^(cvg-(\d+)-[0-9a-f]{4})-/;

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

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what runs in the lab's namespaces (our servers, a `lab exec` left running), then removes it. */
export function removeLab(entry: LabEntry, runner: Runner): void {
  for (const ns of entry.namespaces) {
    const pids = runner(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of pids) killQuietly(pid);
  }
  for (const ns of entry.namespaces) runner(['ip', 'netns', 'del', ns]);
  rmSync(labDir(entry.id), { recursive: true, force: true });
}
