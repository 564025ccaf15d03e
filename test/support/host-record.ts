// Records what the host part reads (test/support/host-recorded.ts) from namespaces holding an
// example node's ports and foreign objects, bare and after `sh network.sh` + `sysctl -p`. Root.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desiredOf } from '../../src/apply/desired.ts';
import { hostPart } from '../../src/apply/host/part.ts';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { type Runner, realRunner, runChecked } from '../../src/lab/run.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from './examples.ts';
import { argvKey, FOREIGN, RECORDED_DIR, type Recording } from './host-recorded.ts';

function record(run: NamespaceRun, example: string, node: string, applied: boolean): void {
  const plan = compileCluster(readCluster(join(EXAMPLES_DIR, `${example}.yaml`))).find(
    (p) => p.node === node,
  ) as HostPlan;
  const files = renderNode(plan);
  const text = (path: string) => textOf(files.find((f) => f.path === path) as (typeof files)[number]);
  const ns = run.add(`${example}-${node}`);
  const inNs: Runner = (argv, options) => realRunner(['ip', 'netns', 'exec', ns, ...argv], options);
  const nics = plan.links.filter((l) => l.kind === 'nic').map((l) => l.name);
  const ports = [...new Set([...nics, ...plan.bridges.flatMap((b) => b.ports)])];
  const hex = (i: number) => i.toString(16).padStart(2, '0');
  const setup = ports.map(
    (p, i) =>
      `ip link add ${p} address 02:00:00:00:00:${hex(i)} type veth peer name peer${i} address 02:00:00:00:01:${hex(i)}`,
  );
  runChecked(inNs, ['sh', '-ec', [...setup, ...FOREIGN].join('\n')]);
  if (applied) {
    runChecked(inNs, ['sh', '-ec', text(FILES.networkScript)]);
    const conf = join(tmpdir(), `convergent-record-${process.pid}.conf`);
    writeFileSync(conf, text(FILES.sysctl));
    runChecked(inNs, ['sysctl', '-q', '-p', conf]);
    rmSync(conf);
  }
  const recording: Recording = {};
  const recorder: Runner = (argv, options) => {
    const r = inNs(argv, options);
    if (r.code === 0) recording[argvKey(argv)] = r.stdout;
    return r;
  };
  const io = { run: recorder, root: '/', stateDir: '/nonexistent' };
  const desired = desiredOf(plan, files, text(FILES.nftables));
  hostPart.changes(io, hostPart.read(io), desired);
  const name = `${example}-${node}-${applied ? 'applied' : 'bare'}`;
  writeFileSync(join(RECORDED_DIR, `${name}.json`), `${JSON.stringify(recording, null, 2)}\n`);
  console.log(`recorded ${name}`);
}

const run = new NamespaceRun();
try {
  for (const [example, node] of [
    ['part4-stateless', 'node1'],
    ['routed-flat', 'node2'],
    ['seed004-insert', 'node1'],
  ] as const)
    for (const applied of [false, true]) {
      record(run, example, node, applied);
      run.cleanup();
    }
} finally {
  run.cleanup();
}
