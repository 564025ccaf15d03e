// What the lab of a cluster needs: the lab's tools, and each feature's for these plans (HAProxy only
// for proxies, conntrackd only for ctsync), and the VM's when it runs in one; the device types its
// nodes create (bonds, VLANs), refused on a kernel without them.
import type { HostPlan } from '../../../host/plan.ts';
import { CAPABILITIES, type Capability, probeCapabilities } from '../../../lab/capabilities.ts';
import { LabError } from '../../../lab/errors.ts';
import { NamespaceRun } from '../../../lab/netns.ts';
import { labNeeds, type Reason, vmNeeds } from '../../../lab/preflight.ts';
import type { Runner } from '../../../lab/run.ts';
import { FEATURES } from '../features/index.ts';
import type { Cluster } from '../model.ts';

export function clusterNeeds(plans: readonly HostPlan[], vm = false): Reason[] {
  const features = FEATURES.flatMap((f) => f.labNeeds?.(plans) ?? []);
  return [...labNeeds('cluster'), ...features, ...(vm ? vmNeeds() : [])];
}

/** The device types the nodes' files create, each with the first interface that needs it, in the spec's words. */
export function clusterDevices(cluster: Cluster): Map<Capability, string> {
  const needs = new Map<Capability, string>();
  for (const node of cluster.nodes)
    for (const i of node.interfaces) {
      if (i.kind === 'bond' && !needs.has('bond')) needs.set('bond', `node ${node.name}'s bond ${i.name}`);
      if (i.kind === 'vlan' && !needs.has('vlan')) needs.set('vlan', `node ${node.name}'s VLAN ${i.name}`);
    }
  const tagged = cluster.bridged.find((b) => b.uplink?.vlan !== undefined);
  if (tagged?.uplink && !needs.has('vlan'))
    needs.set('vlan', `network ${tagged.name} (VLAN ${tagged.uplink.vlan} on ${tagged.uplink.trunk})`);
  return needs;
}

/**
 * Refuses, before the lab creates anything, a spec whose nodes need a device type this kernel lacks
 * (bonds, 802.1Q): probed in a namespace of its own, removed at once. The VM lab's kernel has them.
 */
export function requireDevices(cluster: Cluster, runner: Runner): void {
  const needs = clusterDevices(cluster);
  if (needs.size === 0) return;
  const run = new NamespaceRun(runner);
  let have: Set<Capability>;
  try {
    const ns = run.add('devices');
    runner(['ip', '-n', ns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
    have = probeCapabilities(runner, ns, 'probe0');
  } finally {
    run.cleanup();
  }
  const missing = [...needs].filter(([c]) => !have.has(c));
  if (missing.length === 0) return;
  throw new LabError(
    `this kernel has no ${missing.map(([c, why]) => `${CAPABILITIES[c].what} (for ${why})`).join(' and no ')}: ` +
      'run the lab in a VM on a Debian kernel that has them: convergent lab test FILE --vm',
  );
}
