// conntrackd in the lab (strategy ctsync): each node runs the real daemon on its rendered
// conntrackd.conf, unchanged. The file names Debian's paths (/var/run, /var/lock, /var/log); each
// daemon gets its own mount namespace in which the node's lab directory is bound over /run and
// /var/log, so several daemons run side by side and the machine's own /run is never touched.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES } from '../../../../host/files.ts';
import type { HostPlan } from '../../../../host/plan.ts';
import { LabError } from '../../../../lab/errors.ts';
import { paced, seconds } from '../../../../lab/pace.ts';
import { REQUIREMENTS, type Reason } from '../../../../lab/preflight.ts';
import type { SyncStat } from '../../../../lab/result.ts';
import { startDaemon } from '../../../../lab/servers.ts';
import { setKeys } from '../../../../lab/set-keys.ts';
import type { LabInstance } from '../../lab/build.ts';
import { OUTRAN } from './bounce.ts';
import { CONNTRACKD_PATHS } from './render.ts';

/** The node's directories that stand in for /run and /var/log in the daemon's mount namespace. */
function dirsOf(labDirectory: string, node: string): { run: string; log: string } {
  const base = join(labDirectory, 'nodes', node, 'conntrackd');
  return { run: join(base, 'run'), log: join(base, 'log') };
}

/** Whether the node of a lab runs conntrackd (`lab exec NODE -- conntrackd …` then talks to it). */
export function runsConntrackd(labDirectory: string, node: string): boolean {
  return existsSync(dirsOf(labDirectory, node).run);
}

const CONFIG = '/run/conntrackd.conf';

/** argv running conntrackd with ARGS in the node's namespace, with the node's /run and /var/log. */
export function conntrackdArgv(
  labDirectory: string,
  ns: string,
  node: string,
  args: readonly string[],
): string[] {
  const { run, log } = dirsOf(labDirectory, node);
  return [
    'ip',
    'netns',
    'exec',
    ns,
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    // /var/log first: its source lies under /run, which the second bind hides.
    'mount --bind "$1" /var/log && mount --bind "$2" /run && shift 2 && exec conntrackd "$@"',
    'sh',
    log,
    run,
    '-C',
    CONFIG,
    ...args,
  ];
}

/** Starts every node's conntrackd in the foreground (its PID is the daemon's) and waits for its socket. */
export async function startConntrackd(lab: LabInstance, say: (line: string) => void): Promise<number[]> {
  const nodes = lab.plans.filter((p) => p.conntrackd);
  if (nodes.length === 0) return [];
  const pids = nodes.map((plan) => {
    const { run, log } = dirsOf(lab.dir, plan.node);
    mkdirSync(join(run, 'lock'), { recursive: true }); // /var/lock is /run/lock
    mkdirSync(log, { recursive: true });
    copyFileSync(join(lab.dir, 'nodes', plan.node, FILES.conntrackd), join(run, 'conntrackd.conf'));
    const pid = startDaemon(
      conntrackdArgv(lab.dir, lab.ns(plan.node), plan.node, []),
      join(lab.dir, 'logs', `${plan.node}-conntrackd.log`),
      `node ${plan.node}: conntrackd`,
    );
    lab.track(pid);
    return pid;
  });
  await waitForSockets(lab, nodes);
  say(`conntrackd running on ${describeNodes(lab, nodes)}`);
  return pids;
}

/** Each daemon's control socket: there once it reads its file and serves `conntrackd -s`. */
async function waitForSockets(lab: LabInstance, nodes: readonly HostPlan[]): Promise<void> {
  const socket = CONNTRACKD_PATHS.socket.replace(/^\/var\/run\//, '');
  const limit = paced(10_000);
  const deadline = Date.now() + limit;
  for (const plan of nodes) {
    const path = join(dirsOf(lab.dir, plan.node).run, socket);
    while (!existsSync(path)) {
      if (Date.now() > deadline)
        throw new LabError(
          `conntrackd on ${plan.node} has no control socket after ${seconds(limit)}; see ${join(lab.dir, 'logs', `${plan.node}-conntrackd.log`)} and ${dirsOf(lab.dir, plan.node).log}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** What each daemon was started with, from the file it read: nodes that agree share one label. */
function describeNodes(lab: LabInstance, nodes: readonly HostPlan[]): string {
  const byLabel = new Map<string, string[]>();
  for (const plan of nodes) {
    const label = describeSync(readFileSync(join(dirsOf(lab.dir, plan.node).run, 'conntrackd.conf'), 'utf8'));
    byLabel.set(label, [...(byLabel.get(label) ?? []), plan.node]);
  }
  return [...byLabel].map(([label, on]) => `${on.join(', ')} (${label})`).join('; ');
}

/** A conntrackd.conf's sync as a label: "NOTRACK, multicast 225.0.0.50:3780 on guestbr0". */
export function describeSync(conf: string): string {
  const multicast = /^\s*Multicast\s*\{([^}]*)\}/m.exec(conf)?.[1] ?? '';
  const value = (text: string, key: string) =>
    new RegExp(`^\\s*${key}\\s+(\\S+)`, 'm').exec(text)?.[1] ?? '?';
  return `${value(conf, 'Mode')}, multicast ${value(multicast, 'IPv4_address')}:${value(multicast, 'Group')} on ${value(multicast, 'Interface')}`;
}

/** What a node's conntrackd says about its sync: `conntrackd -s` (general, network and cache stats). */
export function conntrackdStats(lab: LabInstance, node: string): string {
  const r = lab.runner(conntrackdArgv(lab.dir, lab.ns(node), node, ['-s']));
  if (r.code !== 0) throw new LabError(`conntrackd -s on ${node} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The figures a user reads in `conntrackd -s`: traffic, direct injections, losses. */
export function parseStats(node: string, text: string, mode: 'ftfw' | 'notrack'): SyncStat {
  const number = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  const inject = /external inject:\s*connections created:\s*(\d+)\s*failed:\s*(\d+)/.exec(text);
  return {
    node,
    sent: number(/(\d+) Pckts sent/),
    received: number(/(\d+) Pckts recv/),
    injected: Number(inject?.[1] ?? Number.NaN),
    injectFailed: Number(inject?.[2] ?? Number.NaN),
    ...(mode === 'ftfw' ? { lost: number(/(\d+) Lost msgs/) } : {}),
  };
}

/** Every node's conntrackd figures after the checks: the sync is real and moving. */
export function syncStats(lab: LabInstance): SyncStat[] {
  return lab.plans.flatMap((p) =>
    p.conntrackd ? [parseStats(p.node, conntrackdStats(lab, p.node), p.conntrackd.mode)] : [],
  );
}

/** conntrackd, and unshare for its own /run, when the nodes sync (strategy ctsync). */
export function syncNeeds(plans: readonly HostPlan[]): Reason[] {
  const sync = plans.find((p) => p.conntrackd)?.conntrackd;
  if (!sync) return [];
  return [
    { need: 'conntrackd', why: `replicating conntrack state between the nodes (${sync.source})` },
    { need: 'unshare', why: `${REQUIREMENTS.unshare.for} (${sync.source})` },
  ];
}

/** The flows whose replies a node sent back to the entering node (its ctsync_outran), as client:port. */
export function outranFlows(lab: LabInstance): Set<string> {
  const flows = new Set<string>();
  for (const plan of lab.plans.filter((p) => p.conntrackd))
    for (const [client, port] of setKeys(lab.runner, lab.ns(plan.node), 'ip', 'convergent', OUTRAN))
      flows.add(`${client}:${port}`);
  return flows;
}
