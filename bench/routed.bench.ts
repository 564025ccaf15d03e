// Routed networks at scale (issue 16): a node with 10 routed guests and one with 10,000, in the same
// run; new TCP connections through the node, `nic up` on the large node, and what a /32 per guest
// costs the kernel's FIB. As root.
//   labs      small: 10 guests; large: 10,000 guests. Each is a node namespace whose trunk eth1 is a
//             veth to an upstream router's namespace (the network's gateway 10.80.0.1 and ::1, and a
//             client namespace 198.51.100.2 behind it), the node's rendered network.sh, sysctl.d and
//             nftables.conf loaded; the server guest s in a namespace of its own behind a veth (its
//             tap), every other guest's tap a real tap device without carrier (routed-lab.ts). EVERY
//             guest is plugged by the real `nic up` core (routed-plugall.ts, WORKERS processes in the
//             node's namespace): its /32 and /128 in table 500, its proxy-NDP entry, its elements.
//   conn/s    connrate.py in the client: CONN_CLIENTS connections at a time for CONN_SECONDS to s:22
//             (connect, read the banner, close), across the upstream router and the node both ways
//   FIB       table 500's trie (/proc/net/fib_triestat), rt6_stats, the route slabs before and after
//             the large node's plugging, and LOOKUPS route lookups as a packet from the client meets
//             them (`ip route get GUEST from CLIENT iif eth1` in one ip -batch), the guests' addresses
//             and, as its own baseline, an address of the subnet no guest has (no /32 matches)
//   nic up    p plugged, then NICUP_CALLS rounds of down, up (fresh tap) and up again by the core in
//             its own process in the node's namespace (ports-nicup.ts), each call split by the
//             commands it ran; then CLI_CALLS runs of `convergent nic up` (bundled CLI), cold and warm,
//             as bench:ports; nft rules and ip rules counted before and after (the bench stops if they
//             changed)
// Rounds interleave the two labs (who goes first rotates); figures are medians, the ratio the median
// of the per-round ratios. Targets: large/small conn/s >= 0.9; core nic up < 50 ms at 10,000 guests.
// Run: npm run bench:routed [-- --json]   (ROUNDS, CONN_CLIENTS, CONN_SECONDS, NICUP_CALLS, CLI_CALLS,
// WORKERS, LOOKUPS override; --smoke: one short round, 10 against 40 guests)
import { performance } from 'node:perf_hooks';
import { NamespaceRun } from '../src/lab/netns.ts';
import { readCluster } from '../src/systems/cluster/system.ts';
import { inNs, ruleCount, tapOf } from './ports-lab.ts';
import { bundleCli, cliTimes, nicUpTimes } from './ports-plug.ts';
import { routedChecks } from './routed-checks.ts';
import { lookupMicros, rt6Of, slabBytes, type Trie, trieOf } from './routed-fib.ts';
import { buildRoutedLab, createTaps, type RoutedLab } from './routed-lab.ts';
import { type PlugAll, plugAll } from './routed-plug.ts';
import { report } from './routed-report.ts';
import { addressOf, CLIENT_NET, guestName, NOBODY, routedSpec, TABLE, TRUNK } from './routed-spec.ts';
import { type ConnRun, connRun, startServer } from './routed-traffic.ts';
import { SMOKE_LINE, setting, smoke } from './smoke.ts';
import { machineInfo, machineLine, note, otherNamespaces, out, tempSpec, warnOthers } from './support.ts';

export const SETTINGS = {
  rounds: setting('ROUNDS', 9, 1),
  connClients: setting('CONN_CLIENTS', 8, 2),
  connSeconds: setting('CONN_SECONDS', 2, 0.5),
  nicupCalls: setting('NICUP_CALLS', 50, 3),
  cliCalls: setting('CLI_CALLS', 5, 1),
  workers: setting('WORKERS', 2, 2),
  lookups: setting('LOOKUPS', 10_000, 500),
  lookupRounds: setting('LOOKUP_ROUNDS', 7, 1),
  small: 10,
  large: smoke ? 40 : 10_000,
};

export interface Built {
  readonly label: 'small' | 'large';
  readonly guests: number;
  readonly lab: RoutedLab;
  readonly file: string;
  readonly read: number;
  readonly taps: number;
  readonly plugged: PlugAll;
  readonly slabs: { before: Record<string, number>; after: Record<string, number> };
  readonly conn: ConnRun[];
}

/** ip rules, both families: nic up must add none. */
const ipRules = (lab: RoutedLab) =>
  ['-4', '-6'].reduce((n, f) => n + inNs(lab.node, ['ip', f, 'rule', 'show']).trim().split('\n').length, 0);

/** One lab: the spec read, the namespaces and the node's files, the taps made, every guest plugged. */
async function build(run: NamespaceRun, label: Built['label'], guests: number) {
  const spec = tempSpec(`routed-${guests}.yaml`, routedSpec(guests));
  run.atCleanup(spec.remove); // an interrupted run removes it too
  const t0 = performance.now();
  const cluster = readCluster(spec.file);
  const read = (performance.now() - t0) / 1000;
  const lab = buildRoutedLab(run, label, cluster);
  // The server's tap is its veth, p's was made with the lab: the others' taps now.
  const taps = createTaps(
    lab,
    Array.from({ length: Math.max(0, guests - 2) }, (_, i) => tapOf(guestName(i + 2))),
  );
  const before = slabBytes();
  const plugged = await plugAll(lab, spec.file, 0, guests, SETTINGS.workers);
  const slabs = { before, after: slabBytes() };
  await startServer(lab);
  return { label, guests, lab, file: spec.file, read, taps, plugged, slabs, conn: [] } satisfies Built;
}

/**
 * One lab's FIB: its trie, IPv6 counts, and its lookups' µs by round: of the small lab's guests (the
 * same addresses in both labs: only the table's size differs), of every guest of the lab (`ip` then
 * also resolves each answer's device name, one netlink request per device it has not seen), and of
 * an address no guest has (the subnet's route).
 */
export interface Fib {
  readonly trie: Trie | undefined;
  readonly rt6: ReturnType<typeof rt6Of>;
  readonly sameUs: number[];
  readonly everyUs: number[];
  readonly nobodyUs: number[];
}

/** Both labs' FIBs, their lookups in interleaved rounds (who goes first alternates). */
function fibOf(small: Built, large: Built): { small: Fib; large: Fib } {
  const fib = (b: Built): Fib => ({
    trie: trieOf(b.lab, TABLE),
    rt6: rt6Of(b.lab),
    sameUs: [],
    everyUs: [],
    nobodyUs: [],
  });
  const figures = { small: fib(small), large: fib(large) };
  const cycle = (n: number) => Array.from({ length: SETTINGS.lookups }, (_, i) => addressOf(i % n));
  const nobody = Array.from({ length: SETTINGS.lookups }, () => NOBODY);
  for (let round = 0; round < SETTINGS.lookupRounds; round++)
    for (const b of round % 2 === 0 ? [small, large] : [large, small]) {
      const lookups = (to: readonly string[]) => lookupMicros(b.lab, to, CLIENT_NET.client, TRUNK);
      figures[b.label].sameUs.push(lookups(cycle(small.guests)));
      figures[b.label].everyUs.push(lookups(cycle(b.guests)));
      figures[b.label].nobodyUs.push(lookups(nobody));
    }
  return figures;
}

/** nic up of p: the core's times and the CLI's, the rule counts around them. */
async function nicUpOf(b: Built, cli: string) {
  const rules = { nft: ruleCount(b.lab), ip: ipRules(b.lab) };
  const core = await nicUpTimes(b.lab, b.file, SETTINGS.nicupCalls);
  const cliRuns = await cliTimes(b.lab, cli, b.file, SETTINGS.cliCalls);
  const after = { nft: ruleCount(b.lab), ip: ipRules(b.lab) };
  if (after.nft !== rules.nft || after.ip !== rules.ip)
    throw new Error(
      `${b.label}: nic up changed the rules: nft ${rules.nft} -> ${after.nft}, ip rules ${rules.ip} -> ${after.ip}`,
    );
  return { rules, after, core, cli: cliRuns };
}
export type NicUp = Awaited<ReturnType<typeof nicUpOf>>;

// A node's hooks run with the system's PATH: nic up starts `python3` (kernel.py), and a shim in
// front of it (pyenv's on the development machine: 0.3 s a start against 0.02 s) is no node's.
process.env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const started = Date.now();
const machine = machineInfo();
const others = [otherNamespaces()];
const run = new NamespaceRun();
try {
  if (smoke) out(SMOKE_LINE);
  out(machineLine(machine));
  const built: Built[] = [];
  for (const [label, guests] of [
    ['small', SETTINGS.small],
    ['large', SETTINGS.large],
  ] as const) {
    const t = performance.now();
    built.push(await build(run, label, guests));
    note(`${label}: ${guests} guests, up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const [small, large] = built as [Built, Built];
  const checks = routedChecks(built);
  const fib = fibOf(small, large);
  const cli = await bundleCli();
  run.atCleanup(cli.remove);
  const nicUp = { large: await nicUpOf(large, cli.file), small: await nicUpOf(small, cli.file) };
  others.push(otherNamespaces());
  for (let round = 0; round < SETTINGS.rounds; round++) {
    const order = round % 2 === 0 ? [small, large] : [large, small];
    for (const b of order) b.conn.push(await connRun(b.lab, SETTINGS.connClients, SETTINGS.connSeconds));
    note(
      `round ${round + 1}/${SETTINGS.rounds}: ${built.map((b) => `${b.label} ${(b.conn[round] as ConnRun).perSecond.toFixed(0)} conn/s`).join(', ')}`,
    );
  }
  others.push(otherNamespaces());
  report({ settings: SETTINGS, machine, built, checks, fib, nicUp });
  warnOthers(others);
  out(`(${Math.round((Date.now() - started) / 1000)} s in all)`);
} finally {
  run.cleanup();
}
