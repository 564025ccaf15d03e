// The node's local health checks after an apply awaiting confirmation: what the node can test by
// itself that a wrong change would break. Its links are up, its uplink gateway answers, and on each
// guest network the other nodes' addresses answer over its bridge (through the pipes). Each check
// has a 1 s timeout and 3 tries: a bridge port or a neighbour entry may need a moment.
// The checks run before the change too: only what passed before can fail after it. A peer down for
// maintenance, a network the other nodes do not have yet (serial rollout), a link down already: each
// is a note, not a reason to roll back a change that did not cause it.
import type { Runner } from '../lab/run.ts';
import { type Address, inCidr, parseAddress, parseCidr } from '../util/ip.ts';

export interface HealthPlan {
  /**
   * The uplink gateway and the bridge it is reached on; `beyond`: an address off every subnet of the
   * node, whose route must go through them (none when the node's routes cover every candidate).
   */
  readonly gateway?: { readonly address: string; readonly dev: string; readonly beyond?: string };
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

/**
 * One ping with a 1 s timeout, up to three times; `dev` binds it to the bridge (-I). The gateway is
 * pinged unbound: with -I a failed route lookup is taken as on-link, and it would answer anyway.
 */
function answers(run: Runner, address: string, dev?: string): boolean {
  const bound = dev === undefined ? [] : ['-I', dev];
  for (let i = 0; i < TRIES; i++)
    if (run(['ping', '-n', '-q', '-c', '1', '-W', '1', ...bound, address], { timeoutMs: 3000 }).code === 0)
      return true;
  return false;
}

/** Where the kernel sends `address` ("via G dev D", or ip's error); undefined when via `via` on `dev`. */
function routedElsewhere(run: Runner, address: string, via: string, dev: string): string | undefined {
  const r = run(['ip', '-j', 'route', 'get', address]);
  if (r.code !== 0) return r.stderr.trim() || `ip route get exited ${r.code}`;
  const [route] = JSON.parse(r.stdout) as { gateway?: string; dev?: string; type?: string }[];
  if (route?.gateway === via && route.dev === dev) return undefined;
  return route === undefined
    ? 'no route'
    : `${route.type ?? 'via'} ${route.gateway ?? '-'} dev ${route.dev ?? '-'}`;
}

/** Candidates for `beyond`: public anycast resolvers, never pinged, only looked up. */
const BEYOND = ['1.1.1.1', '9.9.9.9', '8.8.8.8'];

/** The first candidate outside all of `prefixes` (the node's subnets and routes), or undefined. */
export function offLink(prefixes: readonly string[]): string | undefined {
  const within = prefixes.map(parseCidr).filter((c) => c !== undefined);
  return BEYOND.find((a) => !within.some((c) => inCidr(c, parseAddress(a) as Address)));
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

/** A failed check: which one (compared before and after), and what the operator reads. */
interface Failed {
  readonly check: string;
  readonly line: string;
}

/** Every check that fails now; empty when the node is healthy. */
function failing(run: Runner, plan: HealthPlan, looks = TRIES): Failed[] {
  const failed = downLinks(run, plan.links, looks).map((name) => ({
    check: `link ${name}`,
    line: `${name} is not up`,
  }));
  const g = plan.gateway;
  if (g && !answers(run, g.address))
    failed.push({ check: 'gateway', line: `the uplink gateway ${g.address} does not answer` });
  const elsewhere = g?.beyond === undefined ? undefined : routedElsewhere(run, g.beyond, g.address, g.dev);
  if (g && elsewhere !== undefined)
    failed.push({
      check: 'default route',
      line: `${g.beyond} is not routed via the uplink gateway ${g.address} on ${g.dev} (${elsewhere})`,
    });
  for (const p of plan.peers)
    if (!answers(run, p.address, p.dev))
      failed.push({
        check: `peer ${p.address} ${p.dev}`,
        line: `${p.node}'s ${p.address} does not answer on ${p.dev}`,
      });
  return failed;
}

/**
 * Before the change: the checks that fail already. A link that does not exist yet is left out: the
 * apply creates it, so it must be up after. The gateway's checks count only when the node is routed
 * via that gateway already: a new gateway that answers nobody is the change cutting the node off.
 */
export function healthBefore(run: Runner, plan: HealthPlan): ReadonlySet<string> {
  const seen = linkStates(run);
  const links = plan.links.filter((name) => seen.has(name));
  const g = plan.gateway;
  const sameGateway =
    g?.beyond !== undefined && routedElsewhere(run, g.beyond, g.address, g.dev) === undefined;
  const failed = failing(run, { ...plan, links }, 1).map((f) => f.check);
  return new Set(failed.filter((check) => sameGateway || (check !== 'gateway' && check !== 'default route')));
}

/** After the change: what fails now and passed before fails the apply; the rest are notes. */
export function checkHealth(
  run: Runner,
  plan: HealthPlan,
  before: ReadonlySet<string> = new Set(),
): HealthReport {
  const now = failing(run, plan);
  return {
    failed: now.filter((f) => !before.has(f.check)).map((f) => f.line),
    notes: now.filter((f) => before.has(f.check)).map((f) => f.line),
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
