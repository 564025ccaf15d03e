// Seed 004's example compiled, and lookups into a node's plan, for the router tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostPlan } from '../../src/host/plan.ts';
import { renderRule } from '../../src/nft/render.ts';
import type { Chain, NamedSet } from '../../src/nft/tree.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { EXAMPLES_DIR } from './examples.ts';
import { clusterFromText } from './spec.ts';

export const SEED004 = readFileSync(join(EXAMPLES_DIR, 'seed004-insert.yaml'), 'utf8');

export const plansOf = (text: string) => compileCluster(clusterFromText(text));
export const chain = (p: HostPlan, name: string): Chain | undefined =>
  p.ruleset.tables.flatMap((t) => t.chains).find((c) => c.name === name);
export const set = (p: HostPlan, name: string): NamedSet | undefined =>
  p.ruleset.tables.flatMap((t) => t.sets).find((s) => s.name === name);
export const rulesOf = (p: HostPlan, name: string) => (chain(p, name)?.rules ?? []).map(renderRule);
