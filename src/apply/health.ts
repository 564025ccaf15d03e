// The node's local health checks after an apply awaiting confirmation: what the node can test by
// itself that a wrong change would break. Its links are up, its uplink gateway answers, and on each
// guest network the other nodes' addresses answer over its bridge (through the pipes). Each check
// has a 1 s timeout and 3 tries: a bridge port or a neighbour entry may need a moment.
// The checks run before the change too: only what passed before can fail after it. A peer down for
// maintenance, a network the other nodes do not have yet (serial rollout), a link down already: each
// is a note, not a reason to roll back a change that did not cause it.
import type { Runner } from '../lab/run.ts';

export interface HealthPlan {
  /** The uplink gateway and the bridge it is reached on. */
  readonly gateway?: { readonly address: string; readonly dev: string };
  /** The other nodes' addresses on each guest network, with the network's bridge. */
  readonly peers: readonly { readonly node: string; readonly address: string; readonly dev: string }[];
  /** The node's links and bridges, which must be up (bonds, not their slaves). */
  readonly links: readonly string[];
}

/** What failed after the change, and what failed already before it (notes). */
export interface HealthReport {
  readonly failed: readonly string[];
  readonly notes: readonly string[];
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

interface LinkState {
  readonly ifname: string;
  readonly flags: string[];
  readonly operstate: string;
}

/** The host's links by name (none when ip fails). */
function linkStates(run: Runner): Map<string, LinkState> {
  const r = run(['ip', '-j', 'link', 'show']);
  return new Map((r.code === 0 ? (JSON.parse(r.stdout) as LinkState[]) : []).map((l) => [l.ifname, l]));
}

const isDown = (l: LinkState | undefined) =>
  l === undefined || !l.flags.includes('UP') || l.operstate === 'DOWN';

/** The links that are not up (admin down or without carrier), after up to three looks a second apart. */
function downLinks(run: Runner, links: readonly string[], looks = TRIES): string[] {
  let down: string[] = [];
  for (let i = 0; i < looks; i++) {
    const seen = linkStates(run);
    down = links.filter((name) => isDown(seen.get(name)));
    if (down.length === 0) return [];
    if (i < looks - 1) pause(1000);
  }
  return down;
}

const linkLine = (name: string) => `${name} is not up`;

/** Every check that fails now, one line each; empty when the node is healthy. */
function failing(run: Runner, plan: HealthPlan, looks = TRIES): string[] {
  const failed = downLinks(run, plan.links, looks).map(linkLine);
  const g = plan.gateway;
  if (g && !answers(run, g.address, g.dev))
    failed.push(`the uplink gateway ${g.address} does not answer on ${g.dev}`);
  for (const p of plan.peers)
    if (!answers(run, p.address, p.dev)) failed.push(`${p.node}'s ${p.address} does not answer on ${p.dev}`);
  return failed;
}

/**
 * Before the change: the checks that fail already. A link that does not exist yet is left out: the
 * apply creates it, so it must be up after.
 */
export function healthBefore(run: Runner, plan: HealthPlan): ReadonlySet<string> {
  const seen = linkStates(run);
  const links = plan.links.filter((name) => seen.has(name));
  return new Set(failing(run, { ...plan, links }, 1));
}

/** After the change: what fails now and passed before fails the apply; the rest are notes. */
export function checkHealth(
  run: Runner,
  plan: HealthPlan,
  before: ReadonlySet<string> = new Set(),
): HealthReport {
  const now = failing(run, plan);
  return {
    failed: now.filter((line) => !before.has(line)),
    notes: now.filter((line) => before.has(line)),
  };
}

/** The engine's two health hooks over one plan: the baseline before, the verdict after (notes said). */
export function healthHooks(
  run: Runner,
  plan: HealthPlan,
  say: (line: string) => void,
): { healthBefore(): void; health(): string[] } {
  let before: ReadonlySet<string> = new Set();
  return {
    healthBefore: () => {
      before = healthBefore(run, plan);
    },
    health: () => {
      const report = checkHealth(run, plan, before);
      for (const note of report.notes) say(`note: ${note} (already before the apply; not held against it)`);
      return [...report.failed];
    },
  };
}
