// The CGNAT router as a system of the registry: one router NATs the IPv4 of several tenants.
import { resolve as resolvePath } from 'node:path';
import { FILES } from '../../host/files.ts';
import { locateAll } from '../../input/load.ts';
import { SpecError } from '../../input/problem.ts';
import { cgnatNeeds } from '../../lab/preflight.ts';
import type { LabRecord } from '../../lab/registry.ts';
import { type Fault, faultsWhere } from '../faults.ts';
import { loadSpecFileOf } from '../kinds.ts';
import type { Loaded, PreparedLab, System } from '../system.ts';
import { describeCgnat } from './compile/blocks.ts';
import { compileCgnat } from './compile/index.ts';
import { cgnatKind } from './kind.ts';
import { cgnatLabCheck, cgnatLabTest, cgnatLabUp } from './lab/index.ts';
import type { Backend, Cgnat } from './model.ts';
import { renderCgnat } from './render.ts';
import { resolveCgnat } from './resolve.ts';
import type { CgnatSpec } from './schema.ts';
import { validateCgnat } from './validate.ts';

/** A CGNAT lab's state.json: the backend it runs on (the spec's, or `--backend`). */
export interface CgnatLabState extends LabRecord {
  readonly kind: 'cgnat';
  readonly backend: Backend;
}

function read(loaded: Loaded<CgnatSpec>): Cgnat {
  const problems = validateCgnat(loaded.spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, loaded.source, loaded.file));
  return resolveCgnat(loaded.spec);
}

/** A CGNAT spec, checked and resolved; a cluster spec is an error naming the kind. */
export const readCgnat = (file: string): Cgnat => read(loadSpecFileOf(file, cgnatKind));

const FILES_HELP = `Files of a CGNAT router (kind: cgnat):
  ${FILES.nftables}, ${FILES.ipBatch}, rules6.ip (IPv6), ${FILES.sysctl}, ${FILES.modules};
  backend netns also namespaces.ip, netns/<tenant>.ip and netns/<tenant>.sysctl.conf`;

const BACKENDS: readonly string[] = ['vrf', 'netns'] satisfies readonly Backend[];

function preparedLab(c: Cgnat, file: string, faults: readonly Fault[], backend?: Backend): PreparedLab {
  const options = { backend, faults };
  return {
    label: `CGNAT ${c.name}`,
    detail: `backend ${backend ?? c.backend}`,
    first: c.router,
    topology: [],
    needs: (vm) => ({
      needs: cgnatNeeds(vm),
      plans: [],
      devices: (backend ?? c.backend) === 'vrf' && !vm ? ['vrf'] : [],
    }),
    vm: () => {
      const clients = c.tenants.flatMap((t) => t.clients.map((x) => [x.name, 'client'] as const));
      const hosts = { [c.router]: 'router', [c.peer.name]: 'peer', ...Object.fromEntries(clients) };
      return { kind: 'cgnat', file: resolvePath(file), plans: [compileCgnat(c)], name: c.name, hosts };
    },
    test: (progress) => cgnatLabTest(c, { progress, ...options }),
    up: (progress) => cgnatLabUp(c, resolvePath(file), { progress, ...options }),
  };
}

export const cgnatSystem: System<CgnatSpec, Cgnat, CgnatLabState> = {
  kind: 'cgnat',
  title: 'CGNAT',
  read,
  name: (c) => c.name,
  describe: describeCgnat,
  unknownHost: (c, host, file) =>
    host === c.router
      ? undefined
      : `no host "${host}" in ${file}; a CGNAT spec renders its router, ${c.router}`,
  render: (c) => new Map([[c.router, renderCgnat(compileCgnat(c))]]),
  filesHelp: FILES_HELP,
  applyTarget: () => ({
    refused: 'apply supports cluster specs; a CGNAT router is loaded from its rendered files',
    fix: 'convergent render FILE --out DIR, then on the router: nft -f DIR/ROUTER/nftables.conf',
  }),
  faults: (c) => faultsWhere({ 'cgnat-without-zones': (x: Cgnat) => x.tenants.length > 1 }, c),
  lab: {
    flagProblem: (_c, flags) => {
      if (flags.backend !== undefined && !BACKENDS.includes(flags.backend))
        return `--backend is vrf or netns, not "${flags.backend}"`;
      if (flags.cut !== undefined) return '--cut goes with a cluster spec';
      if (flags.ssh) return '--ssh goes with a cluster spec';
      return undefined;
    },
    prepare: (c, file, faults, flags) => preparedLab(c, file, faults, flags.backend as Backend | undefined),
    state: (record) => ({
      ...record,
      kind: 'cgnat',
      backend: (record as Partial<CgnatLabState>).backend ?? 'vrf',
    }),
    detail: (state) => `backend ${state.backend}`,
    execArgv: (_state, _host, ns, command) => ['ip', 'netns', 'exec', ns, ...command],
    check: (state, _faults, progress) => cgnatLabCheck(state, progress),
    apply: {
      spec: {
        message: 'this is a CGNAT spec (kind: cgnat); this command takes a cluster spec',
        fix: 'convergent check, render, cgnat, lab test and lab up take it; a CGNAT lab is not changed in place: lab down, then lab up the changed spec',
      },
      lab: 'lab apply moves the guests of a cluster; a CGNAT lab is rebuilt: lab down, then lab up the changed spec',
    },
  },
};
