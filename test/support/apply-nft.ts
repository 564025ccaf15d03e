// What the tests of apply's nft part share: a node's Desired from a spec (text, with faults), a
// namespace with the node's netdev device and a foreign inet table, and the part run in it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Desired, desiredOf } from '../../src/apply/desired.ts';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { type Runner, realRunner, runChecked } from '../../src/lab/run.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import type { Fault } from '../../src/systems/faults.ts';

/** The node's plan as apply takes it. */
export function desiredOfPlan(plan: HostPlan): Desired {
  const files = renderNode(plan);
  const nft = files.find((f) => f.path === FILES.nftables);
  return desiredOf(plan, files, nft ? textOf(nft) : '');
}

/** A spec's node as apply takes it (the spec written to a temporary file, as a user's is read). */
export function desiredOfSpec(spec: string, node: string, faults: readonly Fault[] = []): Desired {
  const dir = mkdtempSync(join(tmpdir(), 'convergent-apply-nft-'));
  try {
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, spec);
    const plan = compileCluster(readCluster(file), { faults }).find((p) => p.node === node);
    if (!plan) throw new Error(`no node ${node} in the spec`);
    return desiredOfPlan(plan);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Commands inside namespace `ns`. */
export const inNamespace =
  (ns: string): Runner =>
  (argv, options) =>
    realRunner(['ip', 'netns', 'exec', ns, ...argv], options);

/** Someone else's table, as Docker or libvirt would leave one. */
export const FOREIGN = `table inet foreign {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 9 counter drop
	}
}
`;

/** nft with the output, failing on an error. */
export const nft = (run: Runner, ...argv: string[]) => runChecked(run, ['nft', ...argv]);
