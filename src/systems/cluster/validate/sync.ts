// Strategy ctsync: where conntrackd syncs, and what it cannot share a cluster with.
import type { SpecPath } from '../../../input/problem.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { ClusterSpec } from '../schema.ts';
import { knownList, type Report } from './common.ts';

/** Strategy ctsync: where conntrackd syncs, and what it cannot share a cluster with. */
export function checkSync(spec: ClusterSpec, report: Report): void {
  const strategyPath = (i: number): SpecPath =>
    spec.forwards[i]?.strategy === undefined ? ['strategy'] : ['forwards', i, 'strategy'];
  const uses = (s: string) => spec.forwards.findIndex((f) => (f.strategy ?? spec.strategy) === s);
  const ctsync = uses('ctsync');
  if (ctsync < 0) {
    if (spec.sync)
      report(
        ['sync'],
        'sync configures conntrackd for strategy ctsync, which no forward uses',
        'remove "sync", or set "strategy: ctsync"',
        true,
      );
    return;
  }
  const stateless = uses('stateless');
  if (stateless >= 0) {
    report(
      // Point at the forward that chose its own strategy, the odd one out.
      strategyPath(
        [stateless, ctsync].filter((i) => spec.forwards[i]?.strategy !== undefined).at(-1) ??
          Math.max(stateless, ctsync),
      ),
      'strategies stateless and ctsync cannot share a cluster: stateless needs conntrack on frames bridged to the guests (br_netfilter on), ctsync needs it off, or the bridged copy of a synced flow clashes with the replicated entry',
      'use fullnat or ctsync for this forward, or stateless for all of them',
    );
  }
  const networks = Object.keys(spec.networks);
  const network = spec.sync?.network ?? (networks.length === 1 ? networks[0] : undefined);
  if (network === undefined) {
    report(
      spec.sync ? ['sync'] : strategyPath(ctsync),
      `strategy ctsync replicates conntrack state over one guest network's pipes, and there are ${networks.length === 0 ? 'none' : `several (${networks.join(', ')})`}`,
      networks.length === 0 ? 'add a guest network' : 'name it: sync: { network: <name> }',
      spec.sync !== undefined,
    );
  } else if (!(network in spec.networks)) {
    report(['sync', 'network'], `unknown network "${network}"`, knownList('networks', new Set(networks)));
  }
  const nodes = Object.keys(spec.nodes).length;
  if (spec.sync?.mode === 'ftfw' && nodes > 2) {
    report(
      ['sync', 'mode'],
      `conntrackd FTFW keeps one sequence number per receiver, not per sender: with ${nodes} nodes on one group each node drops the updates of all senders but one as "delayed"`,
      'use "mode: notrack" (the default for more than two nodes), or leave "mode" out',
    );
  }
  const group = spec.sync?.group;
  if (group !== undefined) {
    if (group >>> 28 !== 0xe || group >>> 8 === 0xe00000) {
      report(
        ['sync', 'group'],
        `${formatIPv4(group)} is not a multicast group conntrackd can use`,
        'use an address in 224.0.0.0/4 outside 224.0.0.0/24, such as 225.0.0.50',
      );
    }
  }
}
