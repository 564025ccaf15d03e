// What every system's renderer produces: files by relative path, as chunks of text, and the
// nftables.conf each system writes under the same header (who generated it, what it owns, how to
// load it, and a line per fault compiled in, so a faulty file says so at its top).

import { renderRuleset } from '../nft/render.ts';
import type { Ruleset } from '../nft/tree.ts';
import type { FaultDescriptions } from './plan.ts';

export const FILES = {
  nftables: 'nftables.conf',
  /** A cluster node's links, addresses and routes: a re-runnable sh script (host/network-script.ts). */
  networkScript: 'network.sh',
  /** The same for ifupdown, for /etc/network/interfaces.d/ (host/ifupdown.ts). */
  interfaces: 'interfaces.d/convergent',
  /** The CGNAT router's `ip -batch` file (systems/cgnat/compile/links.ts). */
  ipBatch: 'network.ip',
  sysctl: 'sysctl.d/90-convergent.conf',
  /** A cluster node's routing tables by name, for /etc/iproute2/rt_tables.d/ (host/routing.ts). */
  rtTables: 'rt_tables.d/convergent.conf',
  /** convergent's routing protocol number by name, for /etc/iproute2/rt_protos.d/ (host/routing.ts). */
  rtProtos: 'rt_protos.d/convergent.conf',
  modules: 'modules-load.d/convergent.conf',
  haproxy: 'haproxy.cfg',
  conntrackd: 'conntrackd.conf',
} as const;

export interface RenderedFile {
  readonly path: string;
  /** The file's text in order; write them one after the other (large shared maps stay one chunk). */
  readonly chunks: readonly string[];
}

export function textOf(file: RenderedFile): string {
  return file.chunks.join('');
}

/** The part of a plan (HostPlan, CgnatPlan) that nftables.conf is made of. */
export interface RulesetPlan {
  readonly ruleset: Ruleset;
  readonly faults: readonly string[];
  readonly faultDescriptions: FaultDescriptions;
}

/** nftables.conf: `who` generated it, `owns` says which tables it replaces. */
export function nftablesFile(plan: RulesetPlan, who: string, owns: string): RenderedFile {
  return {
    path: FILES.nftables,
    chunks: renderRuleset(plan.ruleset, [
      who,
      owns,
      'Check: nft -c -f nftables.conf    Load: nft -f nftables.conf',
      ...plan.faults.map(
        (f) => `FAULT INJECTED for a lab demonstration, never deploy: ${f}: ${plan.faultDescriptions[f]}`,
      ),
    ]),
  };
}
