// What apply makes a host into: a node's plan (or a checkpoint of the host as it was), in the terms
// the parts compare with the live host. A checkpoint is a Desired too, so a rollback is an apply.
import type { RenderedFile } from '../host/files.ts';
import { textOf } from '../host/files.ts';
import type { HostPlan, SysctlPlan } from '../host/plan.ts';
import type { Ruleset } from '../nft/tree.ts';
import type { RecordedPlan } from './nft/record.ts';

/** A convergent table by family and name ("inet convergent_routed"). */
export interface TableRef {
  readonly family: string;
  readonly name: string;
}

/**
 * convergent's nftables: a plan's tree (element deltas are computed from it) with its rendered text,
 * or a checkpoint's saved listing of the tables as they were (runtime elements included).
 */
export type DesiredNft =
  | { readonly kind: 'plan'; readonly ruleset: Ruleset; readonly text: string }
  | {
      readonly kind: 'saved';
      readonly tables: readonly TableRef[];
      readonly text: string;
      /**
       * The record of the plan the saved tables were loaded from (apply/nft/record.ts), when they
       * had not drifted from it: restored with them, so that apply after a rollback changes
       * elements only, and diff says the host matches that plan.
       */
      readonly plan?: RecordedPlan;
    };

export interface DesiredFile {
  /** Relative to the root (`--root`, / on a host): "etc/convergent/network.sh". */
  readonly path: string;
  /** undefined: the file must not be there (a checkpoint of a host that had none). */
  readonly text: string | undefined;
}

/** The plan's host objects as they are; a checkpoint's sysctls carry no source. */
export interface Desired
  extends Pick<
    HostPlan,
    'cluster' | 'node' | 'links' | 'bridges' | 'addresses' | 'routes' | 'rules' | 'tables'
  > {
  readonly sysctls: readonly Omit<SysctlPlan, 'source'>[];
  readonly nft: DesiredNft;
  readonly files: readonly DesiredFile[];
}

/** Where each rendered file is installed: all under etc/convergent/, a daemon's also where it reads it. */
export const INSTALL_DIR = 'etc/convergent';

/** A node's plan and its rendered files as the state apply makes. */
export function desiredOf(plan: HostPlan, files: readonly RenderedFile[], rulesetText: string): Desired {
  return {
    cluster: plan.cluster,
    node: plan.node,
    links: plan.links,
    bridges: plan.bridges,
    addresses: plan.addresses,
    routes: plan.routes,
    rules: plan.rules,
    tables: plan.tables,
    sysctls: plan.sysctls,
    nft: { kind: 'plan', ruleset: plan.ruleset, text: rulesetText },
    files: files.map((f) => ({ path: `${INSTALL_DIR}/${f.path}`, text: textOf(f) })),
  };
}
