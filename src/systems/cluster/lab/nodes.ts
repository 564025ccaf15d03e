// Each node is loaded by `convergent apply`'s engine from nothing, as a host is: its links, addresses,
// routes, rules, sysctls, ruleset and files, each compared with what the namespace has; the check
// servers start on the hosts the probes dial.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apply, type Outcome } from '../../../apply/engine.ts';
import type { HostIO } from '../../../apply/part.ts';
import { partsOf } from '../../../apply/parts.ts';
import { FILES } from '../../../host/files.ts';
import type { HostPlan } from '../../../host/plan.ts';
import { LabError } from '../../../lab/errors.ts';
import { writeFiles } from '../../../lab/files.ts';
import { interrupted } from '../../../lab/interrupt.ts';
import type { Runner } from '../../../lab/run.ts';
import { startServer } from '../../../lab/servers.ts';
import { nodeDesired, renderNode } from '../render.ts';
import type { LabInstance } from './build.ts';
import type { ServerPorts } from './probes.ts';

/**
 * Where apply works on a lab node: commands in its namespace (`ip -n` for ip: one process start less
 * than through `ip netns exec`), files and state in its directory.
 */
export function nodeIO(lab: LabInstance, node: string, runner: Runner = lab.runner): HostIO {
  const ns = lab.ns(node);
  const dir = join(lab.dir, 'nodes', node);
  return {
    run: (argv, options) =>
      runner(
        argv[0] === 'ip' ? ['ip', '-n', ns, ...argv.slice(1)] : ['ip', 'netns', 'exec', ns, ...argv],
        options,
      ),
    root: join(dir, 'root'),
    stateDir: join(dir, 'state'),
  };
}

/**
 * The lab's daemons (HAProxy, conntrackd) start after the nodes load, from the files the lab wrote,
 * and `lab apply` refuses a changed proxy or strategy: nothing to reload.
 */
const labReload = () => [];

/** apply's engine on a lab node: the plan, or (a baseline) the plan without its ruleset. */
export async function applyNode(
  lab: LabInstance,
  plan: HostPlan,
  say: (l: string) => void,
): Promise<Outcome> {
  // The lab's own copy of the files, which `lab exec` and the evidence show.
  writeFiles(join(lab.dir, 'nodes', plan.node), renderNode(plan));
  const outcome = await apply(nodeIO(lab, plan.node), partsOf(labReload), nodeDesired(plan), {
    say: (line) => say(`${plan.node}: ${line}`),
    interrupted,
  });
  if (outcome.kind === 'rolled-back')
    throw new LabError(`node ${plan.node}: apply rolled back: ${outcome.why}`);
  return outcome;
}

/** Loads one node's files; returns its uplink bridge's MAC (how the upstream tells nodes apart). */
export async function loadNode(
  lab: LabInstance,
  plan: HostPlan,
  load: { ruleset: boolean; bridgeNf: boolean },
  say: (l: string) => void,
): Promise<string | undefined> {
  const ns = lab.ns(plan.node);
  const run = (what: string, argv: string[]) => {
    const r = lab.runner(argv);
    if (r.code !== 0) throw new LabError(`node ${plan.node}: ${what} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  // First the host's environment, not the node's plan: what a host with br_netfilter loaded has.
  // Then apply, whose sysctls may change it.
  const environment = join(lab.dir, 'host-environment.conf');
  writeFileSync(environment, load.bridgeNf ? 'net.bridge.bridge-nf-call-iptables = 1\n' : '');
  run('sysctl -p (the host environment)', ['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-p', environment]);
  const applied = load.ruleset ? plan : { ...plan, ruleset: { tables: [] } };
  const outcome = await applyNode(lab, applied, () => {});
  const node = lab.cluster.nodes.find((n) => n.name === plan.node);
  const [link] = node
    ? (JSON.parse(run('ip link show', ['ip', '-n', ns, '-j', 'link', 'show', node.uplinkBridge])) as {
        address: string;
      }[])
    : [];
  const rules = plan.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  const changes = outcome.kind === 'applied' ? outcome.changes : 0;
  say(
    `${plan.node}: applied ${changes} changes (links, addresses, routes, sysctls${load.ruleset ? `, ${FILES.nftables}: ${rules} rules` : '; no ruleset: baseline'})`,
  );
  return link?.address;
}

/**
 * Starts each host's server, detached (it outlives `lab up`), before the nodes load: a Python start
 * takes 0.4-2 s in the VM lab, time the nodes' loading can use. The result waits until all listen.
 */
export function startServers(
  lab: LabInstance,
  servers: ReadonlyMap<string, ServerPorts>,
  pids: number[],
): () => Promise<void> {
  const logs = join(lab.dir, 'logs');
  // IPv6 checks dial guests, the workstation and the gateway at their IPv6 addresses: one socket takes both.
  const six = lab.cluster.routed.some((r) => r.subnet6 !== undefined) ? ['--ipv6'] : [];
  const started = [...servers].map(([host, ports]) =>
    startServer(
      lab.ns(host),
      host,
      [
        ...ports.http.flatMap((p) => ['--http', String(p)]),
        ...ports.tcp.flatMap((p) => ['--tcp', String(p)]),
        ...ports.udp.flatMap((p) => ['--udp', String(p)]),
        ...six,
      ],
      logs,
      (pid) => {
        lab.track(pid);
        pids.push(pid);
      },
    ),
  );
  return async () => {
    await Promise.all(started.map((ready) => ready()));
  };
}
