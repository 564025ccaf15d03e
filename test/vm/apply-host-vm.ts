// Run inside the VM by test/vm/apply-host.test.ts (Debian's kernel has bonds and 802.1Q): the seed's
// node1 (its bond in active-backup, and in 802.3ad) into namespaces with dummy NICs eno1 and eno2,
// by apply's host part in one and by network.sh + sysctl -p in the other; then the refusals and a bond's mode
// change without slaves. Writes what it saw as JSON to the file named by its argument.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Change, changeLine, PARTS } from '../../src/apply/change.ts';
import { type Desired, desiredOf } from '../../src/apply/desired.ts';
import { hostPart } from '../../src/apply/host/part.ts';
import type { HostIO } from '../../src/apply/part.ts';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { type Runner, realRunner, runChecked } from '../../src/lab/run.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const seed = compileCluster(readCluster(join(EXAMPLES_DIR, 'ganeti-seed.yaml'))).find(
  (p) => p.node === 'node1',
) as HostPlan;
const PLANS: Record<string, HostPlan> = {
  ab: seed,
  lacp: {
    ...seed,
    links: seed.links.map((l) =>
      l.kind === 'bond' ? { ...l, mode: '802.3ad', primary: undefined, xmitHashPolicy: 'layer3+4' } : l,
    ),
  },
};

/** A namespace with dummy eno1 and eno2 (and `more` run in it); an io running commands there. */
function bare(name: string, more = ''): HostIO {
  const ns = `cvg-vm-${name}`;
  runChecked(realRunner, ['ip', 'netns', 'add', ns]);
  const run: Runner = (argv, options) => realRunner(['ip', 'netns', 'exec', ns, ...argv], options);
  runChecked(run, ['sh', '-ec', `ip link add eno1 type dummy; ip link add eno2 type dummy; ${more}`]);
  return { run, root: '/', stateDir: '/nonexistent' };
}

function apply(io: HostIO, desired: Desired): Change[] {
  const changes = hostPart.changes(io, hostPart.read(io), desired);
  const adds = PARTS.flatMap((p) => changes.filter((c) => c.part === p && c.action !== 'delete'));
  const deletes = [...PARTS]
    .reverse()
    .flatMap((p) => changes.filter((c) => c.part === p && c.action === 'delete'));
  for (const c of [...adds, ...deletes]) for (const cmd of c.commands) runChecked(io.run, cmd.argv);
  return changes;
}

const dump = (io: HostIO) => ({
  link: runChecked(io.run, ['ip', '-d', '-j', 'link']),
  addr: runChecked(io.run, ['ip', '-j', 'address']),
  route: runChecked(io.run, ['ip', '-j', 'route', 'show', 'table', 'all']),
});
const again = (io: HostIO, desired: Desired) =>
  hostPart.changes(io, hostPart.read(io), desired).map(changeLine);

const out: Record<string, unknown> = {};
for (const [v, plan] of Object.entries(PLANS)) {
  const files = renderNode(plan);
  const desired = desiredOf(plan, files, '');
  const applied = bare(`${v}-apply`);
  const first = apply(applied, desired).map(changeLine);
  const reference = bare(`${v}-sh`);
  const text = (path: string) => textOf(files.find((f) => f.path === path) as (typeof files)[number]);
  const sysctl = join(tmpdir(), `convergent-${v}-sysctl.conf`);
  writeFileSync(sysctl, text(FILES.sysctl));
  runChecked(reference.run, ['sh', '-ec', `${text(FILES.networkScript)}\nsysctl -q -p ${sysctl}`]);
  out[v] = {
    first,
    applied: dump(applied),
    reference: dump(reference),
    again: again(applied, desired),
    againReference: again(reference, desired),
  };
}

const desired = desiredOf(seed, renderNode(seed), '');
// bond0 in 802.3ad with eno1 in it: refused, nothing run.
const busy = bare('refuse', 'ip link add bond0 type bond mode 802.3ad; ip link set eno1 master bond0');
try {
  hostPart.changes(busy, hostPart.read(busy), desired);
  out.refused = '';
} catch (e) {
  out.refused = (e as Error).message;
}
// bond0 in 802.3ad without slaves: down, mode, slaves, up.
const empty = bare('mode', 'ip link add bond0 type bond mode 802.3ad');
out.modeChange = apply(empty, desired)
  .filter((c) => c.what === 'bond bond0')
  .map(changeLine);
out.modeAfter = JSON.parse(runChecked(empty.run, ['ip', '-d', '-j', 'link', 'show', 'bond0']));
out.modeAgain = again(empty, desired);

writeFileSync(process.argv[2] as string, JSON.stringify(out));
