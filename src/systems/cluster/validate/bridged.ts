// Networks the nodes only bridge (modes bridged and private): what each mode needs and refuses.
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import type { Report } from './common.ts';

export function checkBridgedNetwork(
  spec: ClusterSpec,
  name: string,
  network: NetworkSpec,
  _nodeNames: Set<string>,
  report: Report,
): void {
  const base = ['networks', name];
  if (network.nodes !== undefined)
    report(
      [...base, 'nodes'],
      `network ${name} is ${network.mode}: the nodes have no address on it`,
      'remove "nodes:"',
    );
  if (network.pool !== undefined && spec.vlanPools[network.pool] === undefined)
    report(
      [...base, 'pool'],
      `network ${name} takes its VLAN from unknown pool "${network.pool}"`,
      'add it under vlanPools:',
    );
}
