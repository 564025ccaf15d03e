// A feature of the cluster system: what it adds to a node's plan, in one folder with what it renders,
// starts in the lab and reports. The stages run every feature in FEATURES (./index.ts) in that order,
// so adding a feature is its folder and one line there; a hook a feature does not need is left out.
import type { PlanBuilder } from '../../../host/builder.ts';
import type { RenderedFile } from '../../../host/files.ts';
import type { HostPlan } from '../../../host/plan.ts';
import type { Reason } from '../../../lab/preflight.ts';
import type { ReportParts } from '../../../lab/result.ts';
import type { ClusterContext, ElementCache } from '../compile/context.ts';
import type { LabInstance } from '../lab/build.ts';
import type { Check, Cluster, Node } from '../model.ts';

export interface Feature {
  /** The feature's folder name, as errors and the architecture notes call it. */
  readonly name: string;
  /** Adds the feature's part to one node's plan; `cache` holds elements shared by all nodes. */
  compile?(ctx: ClusterContext, node: Node, plan: PlanBuilder, cache: ElementCache): void;
  /** The files of its own the feature renders for a node (none when the node has no part of it),
   * after the node's common files; `who` is the generated-by line every file of the node opens with. */
  files?(plan: HostPlan, who: string): RenderedFile[];
  /**
   * Lab: starts what the feature runs on the nodes (a daemon on its rendered file), once the nodes
   * have loaded their files and the check servers listen; resolves when it is ready, with the PIDs
   * the lab must stop when it goes.
   */
  startInLab?(lab: LabInstance, say: (line: string) => void): Promise<readonly number[]>;
  /** Lab: the tools `startInLab` runs for these plans (none when no node uses the feature), with why. */
  labNeeds?(plans: readonly HostPlan[]): Reason[];
  /** Lab: the checks a spec without "checks:" gets for what the feature adds (after the forwards'). */
  derivedChecks?(cluster: Cluster): Check[];
  /**
   * Lab: the flows (client address:port) whose replies the feature sent back through the node the
   * client entered, by design (CT-SYNC's replies that outran the sync): their LEAVES may name it.
   */
  replyDetours?(lab: LabInstance): ReadonlySet<string>;
  /** Lab: what the feature adds to the report after the checks (nothing when no node uses it). */
  report?(lab: LabInstance): ReportParts;
}
