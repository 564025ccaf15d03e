// Each node loads its rendered files unchanged (sh network.sh, sysctl -p, nft -f), as an operator would;
// the check servers start on the hosts the probes dial.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES } from '../../../host/files.ts';
import type { HostPlan } from '../../../host/plan.ts';
import { LabError } from '../../../lab/errors.ts';
import { writeFiles } from '../../../lab/files.ts';
import { startServer } from '../../../lab/servers.ts';
import { renderNode } from '../render.ts';
import type { LabInstance } from './build.ts';
import type { ServerPorts } from './probes.ts';

/** Loads one node's files; returns its uplink bridge's MAC (how the upstream tells nodes apart). */
export function loadNode(
  lab: LabInstance,
  plan: HostPlan,
  load: { ruleset: boolean; bridgeNf: boolean },
  say: (l: string) => void,
): string | undefined {
  const dir = join(lab.dir, 'nodes', plan.node);
  writeFiles(dir, renderNode(plan));
  const ns = lab.ns(plan.node);
  const run = (what: string, argv: string[]) => {
    const r = lab.runner(argv);
    if (r.code !== 0) throw new LabError(`node ${plan.node}: ${what} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const step = (what: string, argv: string[]) => run(what, ['ip', 'netns', 'exec', ns, ...argv]);
  // `ip -n` enters the namespace itself: one process start less than through `ip netns exec`.
  const ip = (what: string, args: string[]) => run(what, ['ip', '-n', ns, ...args]);
  step(`sh ${FILES.networkScript}`, ['sh', join(dir, FILES.networkScript)]);
  // First the host's environment, not the node's files: what a host with br_netfilter loaded has.
  // Then the node's own sysctl.d, which may change it. One sysctl process for both.
  const environment = join(lab.dir, 'host-environment.conf');
  writeFileSync(environment, load.bridgeNf ? 'net.bridge.bridge-nf-call-iptables = 1\n' : '');
  step(`sysctl -p ${FILES.sysctl}`, ['sysctl', '-q', '-p', environment, join(dir, FILES.sysctl)]);
  if (load.ruleset) step(`nft -f ${FILES.nftables}`, ['nft', '-f', join(dir, FILES.nftables)]);
  const node = lab.cluster.nodes.find((n) => n.name === plan.node);
  const [link] = node
    ? (JSON.parse(ip('ip link show', ['-j', 'link', 'show', node.uplinkBridge])) as { address: string }[])
    : [];
  const rules = plan.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
  say(
    `${plan.node}: loaded ${FILES.networkScript}, ${FILES.sysctl}${load.ruleset ? `, ${FILES.nftables} (${rules} rules)` : ' (no ruleset: baseline)'}`,
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
