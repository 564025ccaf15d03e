// The router advertisements in the lab: each node with a routed network that has subnet6 runs the
// real ra.py on its rendered ra.conf, in its namespace, as convergent-ra.service runs it on a node.
// It starts once the guests are plugged and up (the lab's order for every daemon): its first RAs at
// start configure them, as after a daemon restart on a live node; later plugs are answered by RS.
// Then the lab waits until every guest whose IPv6 address is SLAAC's holds it and its default route.
import { join } from 'node:path';
import type { HostPlan } from '../../../../host/plan.ts';
import { PYTHON } from '../../../../lab/agent.ts';
import { LabError } from '../../../../lab/errors.ts';
import type { Reason } from '../../../../lab/preflight.ts';
import { startDaemon } from '../../../../lab/servers.ts';
import { waitUntilSettled } from '../../../../lab/settle.ts';
import { plural } from '../../../../util/plural.ts';
import { shippedFile } from '../../../../util/shipped.ts';
import type { LabInstance } from '../../lab/build.ts';
import type { LabNic } from '../../lab/guest-nics.ts';
import { RA_FILES, RA_INSTALLED } from './ra-render.ts';

/** ra.py as installed with convergent. */
export const raHelper = () => shippedFile(RA_INSTALLED.shipped, import.meta.url);

const logOf = (lab: LabInstance, node: string) => join(lab.dir, 'logs', `${node}-ra.log`);

/** Starts ra.py on every node that advertises and waits for the SLAAC guests; returns the PIDs. */
export async function startRa(lab: LabInstance, say: (line: string) => void): Promise<number[]> {
  const nodes = lab.plans.filter((p) => p.routerAdvertisements);
  if (nodes.length === 0) return [];
  if (lab.state.faults.includes('no-ra')) {
    say('router advertisements: ra.py not started (fault no-ra)');
    return [];
  }
  const helper = raHelper();
  if (helper === undefined) throw new LabError(`${RA_INSTALLED.shipped} is not installed with convergent`);
  const pids = nodes.map((plan) => {
    const conf = join(lab.dir, 'nodes', plan.node, RA_FILES.conf);
    const argv = ['ip', 'netns', 'exec', lab.ns(plan.node), PYTHON, '-I', '-S', helper, conf];
    const pid = startDaemon(argv, logOf(lab, plan.node), `node ${plan.node}: ra.py`);
    lab.track(pid);
    return pid;
  });
  const started = Date.now();
  const slaac = lab.topology.nics.filter((n) => n.v6?.slaac);
  await waitForSlaac(lab, slaac, nodes);
  const took = ((Date.now() - started) / 1000).toFixed(1);
  say(
    `router advertisements: ra.py on ${nodes.map((p) => p.node).join(', ')}; ${plural(slaac.length, 'guest NIC')} configured by SLAAC in ${took} s`,
  );
  return pids;
}

/** What a guest NIC still lacks of what the RA gives it: its address (not tentative), its default route. */
function missing(lab: LabInstance, n: LabNic): string[] {
  const v6 = n.v6;
  if (!v6) return [];
  const ns = lab.ns(n.guest.name);
  const ip = (...argv: string[]) => lab.runner(['ip', '-n', ns, '-6', ...argv]).stdout;
  const address = ip('-o', 'address', 'show', 'dev', n.ifname, 'to', `${v6.address}/128`);
  const where = `${n.guest.name} ${n.ifname}`;
  if (address.trim() === '') return [`${where}: no ${v6.address}`];
  if (/tentative/.test(address)) return [`${where}: ${v6.address} tentative`];
  if (!v6.default) return [];
  const route = ip('route', 'show', 'default', 'dev', n.ifname);
  return route.includes(`via ${v6.router}`) ? [] : [`${where}: no default route via ${v6.router}`];
}

async function waitForSlaac(lab: LabInstance, nics: readonly LabNic[], nodes: readonly HostPlan[]) {
  const logs = nodes.map((p) => logOf(lab, p.node)).join(', ');
  await waitUntilSettled(
    `guests without their IPv6 address from the router advertisements (${logs})`,
    100,
    () => nics.flatMap((n) => missing(lab, n)),
  );
}

/** python3 runs ra.py, on the nodes that advertise. */
export function raNeeds(plans: readonly HostPlan[]): Reason[] {
  const plan = plans.find((p) => p.routerAdvertisements);
  const network = plan?.routerAdvertisements?.networks[0];
  return network ? [{ need: 'python3', why: `router advertisements (ra.py) for ${network.source}` }] : [];
}
