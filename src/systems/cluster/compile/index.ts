// Cluster -> one HostPlan per node. Pure: no I/O, no randomness; the same cluster gives equal plans.
// The node's links, sysctls and outbound NAT first, then each feature's part (features/index.ts);
// the order here is the order rendered.

import { PlanBuilder } from '../../../host/builder.ts';
import type { HostPlan } from '../../../host/plan.ts';
import { FAULTS, type Fault } from '../../faults.ts';
import { FEATURES } from '../features/index.ts';
import type { Cluster, Node } from '../model.ts';
import { type ClusterContext, clusterContext, type ElementCache } from './context.ts';
import { compileLinks } from './links.ts';
import { compileOutbound } from './outbound.ts';
import { compileRouted } from './routing.ts';
import { compileSysctls } from './sysctl.ts';

export interface Compiler {
  readonly nodes: readonly Node[];
  compileNode(node: Node): HostPlan;
}

export interface CompileOptions {
  /** Deliberate mistakes for lab demonstrations (systems/faults.ts). */
  readonly faults?: readonly Fault[];
}

/** Prepares what all nodes share; compileNode then costs only what is specific to the node. */
export function compiler(cluster: Cluster, options: CompileOptions = {}): Compiler {
  const ctx = clusterContext(cluster, new Set(options.faults));
  const cache: ElementCache = new Map();
  return { nodes: cluster.nodes, compileNode: (node) => compileNode(ctx, node, cache) };
}

export function compileCluster(cluster: Cluster, options: CompileOptions = {}): HostPlan[] {
  const c = compiler(cluster, options);
  return c.nodes.map((n) => c.compileNode(n));
}

function compileNode(ctx: ClusterContext, node: Node, cache: ElementCache): HostPlan {
  const plan = new PlanBuilder(ctx.cluster.name, node.name);
  compileLinks(ctx, node, plan);
  compileRouted(ctx, node, plan);
  compileSysctls(ctx, node, plan);
  compileOutbound(ctx, node, plan);
  for (const feature of FEATURES) plan.by(feature.name, () => feature.compile?.(ctx, node, plan, cache));
  return plan.freeze(Object.fromEntries([...ctx.faults].map((f) => [f, FAULTS[f]])));
}
