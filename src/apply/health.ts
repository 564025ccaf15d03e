// The node's local health checks after an apply awaiting confirmation: what the node can test by
// itself that a wrong change would break. Its links are up, its uplink gateway answers, and on each
// guest network the other nodes' addresses answer over its bridge (through the pipes). Each check
// has a 1 s timeout and 3 tries: a bridge port or a neighbour entry may need a moment.
import type { Runner } from '../lab/run.ts';

export interface HealthPlan {
  /** The uplink gateway and the bridge it is reached on. */
  readonly gateway?: { readonly address: string; readonly dev: string };
  /** The other nodes' addresses on each guest network, with the network's bridge. */
  readonly peers: readonly { readonly node: string; readonly address: string; readonly dev: string }[];
  /** The node's links and bridges, which must be up. */
  readonly links: readonly string[];
}

const TRIES = 3;

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** One ping with a 1 s timeout, up to three times. */
function answers(run: Runner, address: string, dev: string): boolean {
  for (let i = 0; i < TRIES; i++)
    if (run(['ping', '-n', '-q', '-c', '1', '-W', '1', '-I', dev, address], { timeoutMs: 3000 }).code === 0)
      return true;
  return false;
}

/** The links that are not up (admin down or without carrier), after three looks a second apart. */
function downLinks(run: Runner, links: readonly string[]): string[] {
  let down: string[] = [];
  for (let i = 0; i < TRIES; i++) {
    const r = run(['ip', '-j', 'link', 'show']);
    const seen = new Map(
      (r.code === 0
        ? (JSON.parse(r.stdout) as { ifname: string; flags: string[]; operstate: string }[])
        : []
      ).map((l) => [l.ifname, l]),
    );
    down = links.filter((name) => {
      const l = seen.get(name);
      return l === undefined || !l.flags.includes('UP') || l.operstate === 'DOWN';
    });
    if (down.length === 0) return [];
    if (i < TRIES - 1) pause(1000);
  }
  return down;
}

/** What failed, one line each; empty when the node is healthy. */
export function checkHealth(run: Runner, plan: HealthPlan): string[] {
  const failed: string[] = [];
  const down = downLinks(run, plan.links);
  if (down.length > 0) failed.push(`not up: ${down.join(', ')}`);
  const g = plan.gateway;
  if (g && !answers(run, g.address, g.dev))
    failed.push(`the uplink gateway ${g.address} does not answer on ${g.dev}`);
  for (const p of plan.peers)
    if (!answers(run, p.address, p.dev)) failed.push(`${p.node}'s ${p.address} does not answer on ${p.dev}`);
  return failed;
}
