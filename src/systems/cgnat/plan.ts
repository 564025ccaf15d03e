// A CgnatPlan: everything the CGNAT router needs, as data. Render turns it into files; the lab loads
// them. Commands keep the spec path they came from, printed as a comment above each.
import type { FaultDescriptions, SysctlPlan } from '../../host/plan.ts';
import type { Ruleset } from '../../nft/tree.ts';

/** One `ip` command as a batch line ("link add name up type vrf table 1000"), and why. */
export interface IpCommand {
  readonly line: string;
  readonly source: string;
}

/**
 * An `ip -batch` file. `family: 6` files are loaded with `ip -6 -batch` (batch lines cannot choose
 * the family of a rule); `namespace` files run in a tenant's namespace (`ip -n NS -batch`).
 */
export interface IpBatch {
  readonly file: string;
  readonly family?: 6;
  readonly namespace?: string;
  /** Run in the machine's own context, never inside the router's namespace (`netns add`). */
  readonly global?: true;
  readonly commands: readonly IpCommand[];
}

export interface CgnatPlan {
  readonly cgnat: string;
  readonly router: string;
  readonly backend: 'vrf' | 'netns';
  /** In load order: the namespaces and links first, the tenants' namespaces after them. */
  readonly batches: readonly IpBatch[];
  /** The router's sysctls, and (netns backend) each tenant namespace's. */
  readonly sysctls: readonly SysctlPlan[];
  readonly namespaceSysctls: ReadonlyMap<string, readonly SysctlPlan[]>;
  readonly modules: readonly { readonly name: string; readonly source: string }[];
  readonly ruleset: Ruleset;
  /** Deliberate mistakes compiled in for a lab demonstration; normally empty. */
  readonly faults: readonly string[];
  /** What each of `faults` breaks, by name, filled at compile: render prints it atop the ruleset. */
  readonly faultDescriptions: FaultDescriptions;
}
