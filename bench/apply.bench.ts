// apply's nft change on a large node (issue 18): one forward added to a node with 20,000 forwards is
// an element change (one `nft -f` of add/delete element lines), measured against a full replace of
// the same plan's tables in the same run, while a TCP connection through the node's full-NAT forward
// stays open. As root.
//   node      generateSpec's node1 (fullnat, FORWARDS forwards in map fullnat_forwards), in a
//             namespace of the run between a client and a guest namespace (bench/apply-rig.ts);
//             loaded by apply's nft part itself (a first load: one replace), then recorded
//   element   per round: apply's part reads the live tables (terse) and plans the change from the
//             record (`plan`: read, delta, nft -c check), then its transaction runs (`element`); the
//             forward is then taken out again the same way (not measured)
//   full      the same plan's change as apply makes it with no record: the tables replaced in one
//             transaction (`full`), then recorded and the forward taken out again
//   connection one TCP connection client -> node:10000 (DNAT to guest1:10000, SNAT to the node)
//             exchanging a byte every 20 ms all along; its conntrack entry (tuples, status, mark, id)
//             read on the node before and after every element change must be the same
// Rounds alternate which goes first; figures are medians, the ratio the median of per-round ratios.
// Target: element < 200 ms.
// Run: npm run bench:apply [-- --json]   (FORWARDS, ROUNDS override; --smoke: 200 forwards, one round)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Change } from '../src/apply/change.ts';
import type { Desired } from '../src/apply/desired.ts';
import { nftPart, runNftChanges } from '../src/apply/nft/part.ts';
import type { HostIO } from '../src/apply/part.ts';
import { NamespaceRun } from '../src/lab/netns.ts';
import { compiler } from '../src/systems/cluster/compile/index.ts';
import { readCluster } from '../src/systems/cluster/system.ts';
import { desiredOfPlan } from '../test/support/apply-nft.ts';
import { generateSpec } from '../test/support/generate.ts';
import { buildRig, conntrackEntry, holdConnection, type Rig } from './apply-rig.ts';
import { SMOKE_LINE, setting, smoke } from './smoke.ts';
import {
  json,
  machineInfo,
  machineLine,
  median,
  note,
  otherNamespaces,
  out,
  tempSpec,
  warnOthers,
} from './support.ts';

const FORWARDS = setting('FORWARDS', 20_000, 200);
const ROUNDS = setting('ROUNDS', 7, 1);
const TARGET_MS = 200;
const count = (n: number) => n.toLocaleString('en');
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** node1 of the generated cluster with `forwards` forwards, as apply takes it. */
function desiredWith(forwards: number): Desired {
  const spec = tempSpec('apply.yaml', generateSpec({ nodes: 1, guests: 100, forwards, strategy: 'fullnat' }));
  try {
    const c = compiler(readCluster(spec.file));
    return desiredOfPlan(c.compileNode(c.nodes[0] as (typeof c.nodes)[0]));
  } finally {
    spec.remove();
  }
}

const part = nftPart();

/** Plans and runs one change; the times of each, and what it was. */
function timed(io: HostIO, desired: Desired): { planMs: number; runMs: number; changes: Change[] } {
  const t0 = performance.now();
  const changes = part.changes(io, part.read(io), desired);
  const t1 = performance.now();
  runNftChanges(io.run, changes);
  const runMs = performance.now() - t1;
  return { planMs: t1 - t0, runMs, changes };
}

const isElementsOnly = (changes: readonly Change[]) =>
  changes.length === 1 &&
  (changes[0]?.commands[0]?.input ?? '')
    .trim()
    .split('\n')
    .every((l) => /^(add|delete) element /.test(l));

/** diff's way: every element listed and compared with the plan; the host matches, so no change. */
function fullComparison(io: HostIO, desired: Desired): number {
  const t = performance.now();
  const full = nftPart({ elements: true });
  const changes = full.changes(io, full.read(io), desired);
  if (changes.length > 0) throw new Error(`diff finds a change where there is none: ${changes[0]?.detail}`);
  return performance.now() - t;
}

interface Round {
  readonly planMs: number;
  readonly elementMs: number;
  readonly fullMs: number;
  readonly lines: number;
}

/** One round: the element change and the full replace of the same plan, `first` first. */
function round(rig: Rig, io: HostIO, scratch: string, plans: { a: Desired; b: Desired }, n: number): Round {
  const element = () => {
    const before = conntrackEntry(rig);
    const r = timed(io, plans.b);
    if (!isElementsOnly(r.changes)) throw new Error(`not an element change: ${r.changes[0]?.detail}`);
    const after = conntrackEntry(rig);
    if (after !== before) throw new Error(`the conntrack entry changed:\n${before}\n${after}`);
    part.record(io, plans.b);
    timed(io, plans.a);
    part.record(io, plans.a);
    return { ...r, lines: (r.changes[0]?.commands[0]?.input ?? '').trim().split('\n').length };
  };
  const full = () => {
    const fresh = { ...io, stateDir: join(scratch, `none${n}`) }; // no record: apply replaces
    const r = timed(fresh, plans.b);
    if (r.changes[0]?.commands[0]?.input?.includes('delete table ip convergent') !== true)
      throw new Error('the change with no record is not a replace');
    part.record(io, plans.b);
    timed(io, plans.a);
    part.record(io, plans.a);
    return r;
  };
  let e: ReturnType<typeof element>;
  let f: ReturnType<typeof full>;
  if (n % 2 === 0) {
    e = element();
    f = full();
  } else {
    f = full();
    e = element();
  }
  return { planMs: e.planMs, elementMs: e.runMs, fullMs: f.runMs, lines: e.lines };
}

async function main(nsRun: NamespaceRun, scratch: string): Promise<void> {
  const t = performance.now();
  const plans = { a: desiredWith(FORWARDS), b: desiredWith(FORWARDS + 1) };
  note(
    `compiled ${count(FORWARDS)} and ${count(FORWARDS + 1)} forwards in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const rig = buildRig(nsRun);
  const io: HostIO = { run: rig.run, root: '/', stateDir: join(scratch, 'state') };
  const load = timed(io, plans.a);
  part.record(io, plans.a);
  note(`first load (one replace): ${ms(load.runMs)}`);
  const held = await holdConnection(nsRun, rig);
  const entry = conntrackEntry(rig);
  const rounds: Round[] = [];
  for (let n = 0; n < ROUNDS; n++) {
    rounds.push(round(rig, io, scratch, plans, n));
    const r = rounds[n] as Round;
    note(`round ${n + 1}/${ROUNDS}: element ${ms(r.elementMs)}, full ${ms(r.fullMs)}`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the connection's exchanges go on
  }
  const diff = fullComparison(io, plans.a);
  const survived = conntrackEntry(rig) === entry;
  const conn = await held.stop();
  if (conn.error !== undefined) throw new Error(`the TCP connection broke: ${conn.error}`);
  const element = median(rounds.map((r) => r.elementMs));
  const ratio = median(rounds.map((r) => r.fullMs / r.elementMs));
  out(
    `one forward more on a node with ${count(FORWARDS)} forwards (map fullnat_forwards), ${ROUNDS} rounds, medians`,
  );
  out(`  plan (read terse, delta, nft -c)  ${ms(median(rounds.map((r) => r.planMs)))}`);
  out(
    `  plan + element change             ${ms(median(rounds.map((r) => r.planMs + r.elementMs)))}  (apply's nft part, all of it)`,
  );
  out(
    `  element change                    ${ms(element)}  (nft -f of ${rounds[0]?.lines} lines)  target < ${TARGET_MS} ms: ${element < TARGET_MS ? 'met' : 'NOT MET'}`,
  );
  out(`  full replace                      ${ms(median(rounds.map((r) => r.fullMs)))}`);
  out(`  full/element                      ${ratio.toFixed(1)}  median of the per-round ratios`);
  out(`  diff's full comparison            ${ms(diff)}  (every element listed and compared: none differs)`);
  out(
    `  TCP connection through the node: ${conn.exchanges} exchanges, longest gap ${(conn.longest_gap_ms ?? 0).toFixed(0)} ms; conntrack entry unchanged by every element change, and at the end: ${survived ? 'yes' : 'no'}`,
  );
  if (json)
    process.stdout.write(
      `${JSON.stringify({ machine, forwards: FORWARDS, rounds, conn, survived }, null, 2)}\n`,
    );
}

const started = Date.now();
const machine = machineInfo();
const others = [otherNamespaces()];
const nsRun = new NamespaceRun();
const scratch = mkdtempSync(join(tmpdir(), 'convergent-bench-apply-'));
nsRun.atCleanup(() => rmSync(scratch, { recursive: true, force: true }));
try {
  if (smoke) out(SMOKE_LINE);
  out(machineLine(machine));
  await main(nsRun, scratch);
  others.push(otherNamespaces());
  warnOthers(others);
  out(`(${Math.round((Date.now() - started) / 1000)} s in all)`);
} finally {
  nsRun.cleanup();
}
