// The reverse proxies in the lab: each node with proxies runs the real HAProxy on its rendered
// haproxy.cfg, as the operator would (`haproxy -f haproxy.cfg`), in its namespace.
import { join } from 'node:path';
import { FILES } from '../../../../host/files.ts';
import type { HostPlan } from '../../../../host/plan.ts';
import type { Reason } from '../../../../lab/preflight.ts';
import { startDaemon, waitListening } from '../../../../lab/servers.ts';
import type { LabInstance } from '../../lab/build.ts';

/** Starts every node's HAProxy and waits until each listens on its binds; returns their PIDs. */
export async function startProxies(lab: LabInstance, say: (l: string) => void): Promise<number[]> {
  const withProxies = lab.plans.filter((p) => p.proxies.length > 0);
  if (withProxies.length === 0) return [];
  // All start at once, then the lab waits for each to listen (haproxy takes 2-3 s to in the VM lab).
  const pids = withProxies.map((plan) => {
    const cfg = join(lab.dir, 'nodes', plan.node, FILES.haproxy);
    // -db: stay in the foreground, so the PID is the proxy's and the lab can stop it.
    const pid = startDaemon(
      ['ip', 'netns', 'exec', lab.ns(plan.node), 'haproxy', '-db', '-f', cfg],
      join(lab.dir, 'logs', `${plan.node}-haproxy.log`),
      `node ${plan.node}: haproxy`,
    );
    lab.track(pid);
    return pid;
  });
  for (const plan of withProxies)
    for (const proxy of plan.proxies)
      await waitListening(
        lab.runner,
        lab.ns(plan.node),
        proxy.bind,
        `haproxy on ${plan.node}`,
        join(lab.dir, 'logs'),
      );
  say(`haproxy listening on ${withProxies.map((p) => p.node).join(', ')}`);
  return pids;
}

/** HAProxy, when a node has a proxy: named with the first proxy that needs it. */
export function proxyNeeds(plans: readonly HostPlan[]): Reason[] {
  const proxy = plans.find((p) => p.proxies.length > 0);
  return proxy
    ? [{ need: 'haproxy', why: `${proxy.node}'s reverse proxy (${proxy.proxies[0]?.source})` }]
    : [];
}
