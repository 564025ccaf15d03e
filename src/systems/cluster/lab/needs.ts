// What the lab of a cluster needs: the lab's tools, and each feature's for these plans (HAProxy only
// for proxies, conntrackd only for ctsync), and the VM's when it runs in one.
import type { HostPlan } from '../../../host/plan.ts';
import { labNeeds, type Reason, vmNeeds } from '../../../lab/preflight.ts';
import { FEATURES } from '../features/index.ts';

export function clusterNeeds(plans: readonly HostPlan[], vm = false): Reason[] {
  const features = FEATURES.flatMap((f) => f.labNeeds?.(plans) ?? []);
  return [...labNeeds('cluster'), ...features, ...(vm ? vmNeeds() : [])];
}
