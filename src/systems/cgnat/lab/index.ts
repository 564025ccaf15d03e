// `lab test` of a CGNAT spec: build the router, its peer and the clients, run the checks, remove it
// all. `lab up` keeps the lab (its state names every host's namespace); `lab check` runs the checks
// again on it, from the copy of the spec it was built from.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIRST_PORT } from '../../../lab/ports.ts';
import { cgnatNeeds, requireLab } from '../../../lab/preflight.ts';
import { labDir, SPEC_COPY, writeState } from '../../../lab/registry.ts';
import type { LabReport } from '../../../lab/result.ts';
import type { Fault } from '../../faults.ts';
import type { Backend, Cgnat } from '../model.ts';
import { type CgnatLabState, readCgnat } from '../system.ts';
import { buildCgnatLab, type CgnatLab, clientsOf } from './build.ts';
import { runCgnatChecks } from './checks.ts';

export interface CgnatLabOptions {
  readonly progress: (line: string) => void;
  /** Run the spec on the other backend: the same checks must pass on both. */
  readonly backend?: Backend;
  readonly faults?: readonly Fault[];
}

const onBackend = (c: Cgnat, backend?: Backend): Cgnat => (backend ? { ...c, backend } : c);

export async function cgnatLabTest(c: Cgnat, options: CgnatLabOptions): Promise<LabReport> {
  const faults = options.faults ?? [];
  const lab = await buildCgnatLab(onBackend(c, options.backend), options.progress, faults);
  try {
    return { ...(await runCgnatChecks(lab, options.progress)), faults };
  } finally {
    lab.run.cleanup();
  }
}

/** Builds the lab and leaves it running; `file` is the spec, copied into the lab for `lab check`. */
export async function cgnatLabUp(c: Cgnat, file: string, options: CgnatLabOptions): Promise<CgnatLabState> {
  const cgnat = onBackend(c, options.backend);
  const faults = options.faults ?? [];
  const lab = await buildCgnatLab(cgnat, options.progress, faults);
  try {
    copyFileSync(file, join(lab.dir, SPEC_COPY));
    const role = (host: string) =>
      host === cgnat.router ? 'router' : host === cgnat.peer.name ? 'peer' : 'client';
    const hosts = [cgnat.router, cgnat.peer.name, ...lab.clients.keys()].map(
      (h) => [h, { role: role(h), ns: lab.ns(h) }] as const,
    );
    const tenants =
      cgnat.backend === 'netns'
        ? cgnat.tenants.map((t) => [t.name, { role: 'tenant', ns: lab.ns(t.name) }] as const)
        : [];
    const state: CgnatLabState = {
      id: lab.id,
      kind: 'cgnat',
      backend: cgnat.backend,
      name: cgnat.name,
      spec: file,
      faults,
      created: new Date().toISOString(),
      hosts: Object.fromEntries([...hosts, ...tenants]),
      pids: [],
      nextPort: FIRST_PORT,
      notes: [],
    };
    writeState(state);
    lab.run.keep();
    return state;
  } catch (err) {
    lab.run.cleanup();
    throw err;
  }
}

/** `lab check` on a CGNAT lab that `lab up` left running. */
export function cgnatLabCheck(state: CgnatLabState, progress: (line: string) => void): Promise<LabReport> {
  requireLab(cgnatNeeds());
  const cgnat = onBackend(readCgnat(join(labDir(state.id), SPEC_COPY)), state.backend);
  const lab: CgnatLab = {
    id: state.id,
    cgnat,
    dir: labDir(state.id),
    ns: (h) => state.hosts[h]?.ns ?? `${state.id}-${h}`,
    clients: clientsOf(cgnat),
  };
  return runCgnatChecks(lab, progress, state).then((r) => ({ ...r, faults: state.faults }));
}
