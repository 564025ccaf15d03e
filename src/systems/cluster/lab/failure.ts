// Node failure (F2, seed part 2): cut one node off the cluster, its uplink ports and pipes down
// from inside its own namespace, as a crashed or unplugged host looks to its neighbours. STP heals
// the guest segment; the checks that need no part of that node must all pass again.

import { runChecked } from '../../../lab/run.ts';
import type { Cluster } from '../model.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';
import { waitForStp } from './settle.ts';

/** The nodes a probe relies on: the one it enters, the ones hosting its client and its server, where it must leave. */
export function nodesOf(cluster: Cluster, probe: Probe): Set<string> {
  const hostOf = (name: string | undefined) => cluster.guests.find((g) => g.name === name)?.node;
  const nodes = [
    probe.entering,
    hostOf(probe.client),
    hostOf(probe.server?.host),
    hostOf(probe.expect.answers),
    probe.expect.leaves,
    probe.expect.answersMac ? probe.expect.answers : undefined,
  ];
  return new Set(nodes.filter((n): n is string => n !== undefined));
}

export function probesWithout(cluster: Cluster, probes: readonly Probe[], node: string): Probe[] {
  return probes.filter((p) => !nodesOf(cluster, p).has(node));
}

export async function cutNode(lab: LabInstance, node: string, say: (line: string) => void): Promise<void> {
  const n = lab.cluster.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node ${node}`);
  const links = [
    ...n.uplinkPorts,
    ...lab.cluster.networks.flatMap((net) =>
      net.pipes.flatMap((p) => p.ends.filter((e) => e.node === node).map((e) => e.ifname)),
    ),
  ];
  const lines = links.map((l) => `link set ${l} down`);
  runChecked(lab.runner, ['ip', '-n', lab.ns(node), '-batch', '-'], { input: `${lines.join('\n')}\n` });
  say(`cut ${node} off: ${links.join(', ')} down`);
  if (lab.cluster.networks.some((net) => net.stp)) await waitForStp(lab, say, new Set([node]));
}
