// `lab apply`: a changed spec into a running lab, without tearing it down, as an operator changes a
// live cluster. Guests moving between nodes (migration) and changed forwards are applied; anything
// that would need new namespaces or links (nodes, networks, new guests) asks for `lab down; lab up`.
//
// A migration, in the order a host does it: the guest's port moves to the new node and joins its
// bridge; every node reloads its ruleset (atomically, table by table); the new node announces the
// anycast gateway to the guest alone (a gratuitous ARP out of the guest's port), so the guest's
// entry for its gateway points at its new node; the old node forgets the guest's flows.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import { LabError } from '../../../lab/errors.ts';
import { SPEC_COPY } from '../../../lab/registry.ts';
import { runChecked } from '../../../lab/run.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { isFault } from '../../faults.ts';
import type { Cluster, Guest } from '../model.ts';
import { execWith, NicFailed, NicRefused, nicDown, nicUp } from '../nic/index.ts';
import type { LabInstance } from './build.ts';
import { isRouted } from './guest-nics.ts';
import type { Prepared } from './lab.ts';
import { applyNode } from './nodes.ts';
import { waitForDad, waitForPorts, waitForStp } from './settle.ts';

export interface Move {
  readonly guest: string;
  readonly from: string;
  readonly to: string;
}

/** What `lab apply` cannot change in a running lab; empty when the new spec applies. */
export function unappliable(old: Cluster, next: Cluster): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const nodes = (c: Cluster) =>
    c.nodes.map(({ name, address, tag, uplinkBridge, uplinkPorts }) => ({
      name,
      address,
      tag,
      uplinkBridge,
      uplinkPorts,
    }));
  if (!same(nodes(old), nodes(next))) out.push('the nodes (names, addresses, tags or uplinks)');
  // An insertion (router.insert) is applied: rules, its table and the notrack chain change in place.
  const networks = (c: Cluster) =>
    c.networks.map((n) => ({
      ...n,
      nodeAddresses: [...n.nodeAddresses],
      path: undefined,
      router: n.router && { ...n.router, insert: undefined },
    }));
  if (!same(networks(old), networks(next))) out.push('the networks (subnets, addresses, pipes or STP)');
  const guests = (c: Cluster) =>
    c.guests.map(({ name, network, address, mac }) => ({ name, network, address, mac }));
  if (!same(guests(old), guests(next)))
    out.push('the guests other than their node (added, removed, readdressed)');
  // A floating IP is an address on the router's uplink as well as map elements: the lab does not
  // re-address a running node.
  if (
    !same(
      old.floating.map((f) => [f.address, f.guest, f.nic]),
      next.floating.map((f) => [f.address, f.guest, f.nic]),
    )
  )
    out.push('the floating IPs');
  if (!same(old.proxies, next.proxies)) out.push('the proxies');
  if (old.strategy !== next.strategy) out.push('the strategy');
  return out;
}

export function movesOf(old: Cluster, next: Cluster): Move[] {
  const before = new Map(old.guests.map((g) => [g.name, g.node]));
  return next.guests
    .filter((g) => before.get(g.name) !== g.node)
    .map((g) => ({ guest: g.name, from: before.get(g.name) as string, to: g.node }));
}

/** The guest's neighbour entries on a NIC, as a migrated VM keeps them (moving a veth end flushes them). */
function neighbours(lab: LabInstance, guest: string, ifname: string): { dst: string; lladdr?: string }[] {
  const r = lab.runner(['ip', '-n', lab.ns(guest), '-j', 'neigh', 'show', 'dev', ifname]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { dst: string; lladdr?: string }[]) : [];
}

/** One guest's routed NICs: tap moved, plugged on the new node by nic up, unplugged on the old by nic down --local-only. */
function moveRoutedNics(lab: LabInstance, next: Prepared, m: Move): string[] {
  const said: string[] = [];
  const faults = lab.state.faults.filter(isFault);
  const exec = (node: string) =>
    execWith(lab.runner, (argv) => ['ip', 'netns', 'exec', lab.ns(node), ...argv]);
  for (const n of lab.topology.nics.filter((x) => x.guest.name === m.guest && isRouted(x.network))) {
    const kept = neighbours(lab, m.guest, n.ifname).filter((e) => e.lladdr);
    runChecked(lab.runner, ['ip', '-n', lab.ns(m.from), 'link', 'set', n.vif, 'netns', lab.ns(m.to)]);
    for (const e of kept)
      lab.runner([
        'ip',
        '-n',
        lab.ns(m.guest),
        'neigh',
        'replace',
        e.dst,
        'lladdr',
        e.lladdr as string,
        'dev',
        n.ifname,
        'nud',
        'stale',
      ]);
    const ref = `${m.guest}:${n.nic.index}`;
    try {
      said.push(nicUp(exec(m.to), next.cluster, m.to, ref, n.vif, { faults }).line);
      said.push(nicDown(exec(m.from), next.cluster, m.from, n.vif, { localOnly: true, faults }).line);
    } catch (err) {
      if (err instanceof NicRefused || err instanceof NicFailed)
        throw new LabError(`moving ${ref} from ${m.from} to ${m.to}: ${err.message}`);
      throw err;
    }
  }
  return said;
}

/**
 * Every node made the new plan by apply's engine, as `convergent apply` makes a host: only what
 * differs changes (a forward is map elements; an insertion its rules, table routes, sysctls and
 * NOTRACK chain, the rules added before the ruleset and deleted after it). The NICs of a node whose
 * ruleset changed, and of a guest that moved, are plugged again by `nic up`, as the hooks would: a
 * changed profile or a guest new on the node gets its elements.
 */
async function applyNodes(
  lab: LabInstance,
  next: Prepared,
  moves: readonly Move[],
  say: (l: string) => void,
) {
  const changed = new Set<string>(moves.map((m) => m.to));
  for (const plan of next.plans) {
    const outcome = await applyNode(lab, plan, say);
    if (outcome.kind === 'unchanged') continue;
    changed.add(plan.node);
  }
  if (next.plans.every((p) => !changed.has(p.node)))
    say('every node already as the spec says: nothing changed');
  const faults = lab.state.faults.filter(isFault);
  const nodeOf = new Map(next.cluster.guests.map((g) => [g.name, g.node]));
  for (const n of [...lab.topology.nics, ...lab.topology.guests]) {
    const node = nodeOf.get(n.guest.name) as string;
    if (!changed.has(node)) continue;
    const exec = execWith(lab.runner, (argv) => ['ip', 'netns', 'exec', lab.ns(node), ...argv]);
    nicUp(exec, next.cluster, node, `${n.guest.name}:${n.nic.index}`, n.vif, { faults });
  }
}

/** A guest's later NICs on gateway networks (an appliance's management NIC) move with it. */
function moveLaterNics(lab: LabInstance, m: Move): string[] {
  return lab.topology.guests
    .filter((x) => x.guest.name === m.guest && x.nic.index > 0)
    .map((g) => {
      runChecked(lab.runner, ['ip', '-n', lab.ns(m.from), 'link', 'set', g.vif, 'netns', lab.ns(m.to)]);
      runChecked(lab.runner, ['ip', '-n', lab.ns(m.to), '-batch', '-'], {
        input: `link set ${g.vif} master ${g.network.bridge}\nlink set ${g.vif} up\n`,
      });
      return `${m.guest}: ${g.vif} moved from ${m.from} to ${m.to}`;
    });
}

export async function applyToLab(
  lab: LabInstance,
  next: Prepared,
  say: (line: string) => void,
): Promise<Move[]> {
  const problems = unappliable(lab.cluster, next.cluster);
  if (problems.length > 0)
    throw new LabError(
      `lab apply moves guests and reloads rulesets; this spec also changes ${problems.join(', ')}: run lab down, then lab up`,
    );
  const moves = movesOf(lab.cluster, next.cluster);
  const vifOf = new Map(lab.topology.guests.filter((g) => g.nic.index === 0).map((g) => [g.guest.name, g]));
  const sh = (host: string, argv: string[]) =>
    runChecked(lab.runner, ['ip', 'netns', 'exec', lab.ns(host), ...argv]);

  // 1. The guest's port moves to its new node and joins the bridge there. A migrated VM keeps its
  // ARP cache, but moving a veth end drops the guest's carrier, which flushes it: the lab puts the
  // gateway's entry back as the VM would still have it, so that step 3 is what updates it.
  for (const m of moves) {
    const g = vifOf.get(m.guest);
    if (!g) continue;
    const gateway = formatIPv4(g.network.gateway);
    const [entry] = JSON.parse(sh(m.guest, ['ip', '-j', 'neigh', 'show', gateway, 'dev', 'eth0'])) as {
      lladdr?: string;
    }[];
    runChecked(lab.runner, ['ip', '-n', lab.ns(m.from), 'link', 'set', g.vif, 'netns', lab.ns(m.to)]);
    runChecked(lab.runner, ['ip', '-n', lab.ns(m.to), '-batch', '-'], {
      input: `link set ${g.vif} master ${g.network.bridge}\nlink set ${g.vif} up\n`,
    });
    if (entry?.lladdr)
      sh(m.guest, ['ip', 'neigh', 'replace', gateway, 'lladdr', entry.lladdr, 'dev', 'eth0', 'nud', 'stale']);
    say(`${m.guest}: ${g.vif} moved from ${m.from} to ${m.to}`);
  }
  // Routed NICs move as Ganeti migrates them: nic up on the new node (which announces the guest's
  // addresses), then nic down --local-only on the old one.
  for (const m of moves) for (const line of moveRoutedNics(lab, next, m)) say(line);
  for (const m of moves) for (const line of moveLaterNics(lab, m)) say(line);
  // 2. Every node made the new plan. Never a moment with the notrack chain but not the steering (a
  // first pass neither tracked nor steered leaves without its SNAT): the engine adds rules before
  // the ruleset and deletes them after it.
  await applyNodes(lab, next, moves, say);
  if (moves.length > 0) await waitForPorts(lab);
  if (moves.length > 0) await waitForDad(lab);
  if (moves.length > 0 && lab.cluster.networks.some((n) => n.stp)) await waitForStp(lab, say);

  // 3. The new node announces the gateway to the guest; 4. the old node forgets the guest's flows.
  const guests = new Map(next.cluster.guests.map((g) => [g.name, g]));
  for (const m of moves) {
    const g = vifOf.get(m.guest);
    const node = next.cluster.nodes.find((n) => n.name === m.to);
    if (!g || !node) continue;
    const gateway = formatIPv4(g.network.gateway);
    sh(m.to, [PYTHON, join(AGENT_DIR, 'probe.py'), 'garp', g.vif, gateway, node.bridgeMac]);
    say(`${m.to} announced ${gateway} at ${node.bridgeMac} to ${m.guest} (gratuitous ARP out of ${g.vif})`);
    const address = formatIPv4((guests.get(m.guest) as Guest).address);
    if (next.cluster.sync) {
      // Under ctsync every node holds every flow, and conntrackd would replicate a deletion to all
      // of them: the guest's connections would die on its new node too.
      say(`${m.from} keeps the replicated flows of ${address}, as every node does (strategy ctsync)`);
      continue;
    }
    for (const dir of ['-s', '-d'])
      lab.runner(['ip', 'netns', 'exec', lab.ns(m.from), 'conntrack', '-D', dir, address]);
    say(`${m.from} dropped its conntrack entries for ${address}`);
  }
  copyFileSync(next.file, join(lab.dir, SPEC_COPY));
  return moves;
}
