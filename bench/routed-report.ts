// bench/routed.bench.ts's figures: the labs, the checks, the FIB, the connections, nic up.
import type { CliTimes } from './ports-plug.ts';
import type { Built, Fib, NicUp, SETTINGS } from './routed.bench.ts';
import type { Checked } from './routed-checks.ts';
import { quantile } from './routed-plug.ts';
import { TABLE } from './routed-spec.ts';
import { json, type machineInfo, median, note, out } from './support.ts';

const TARGET_RATIO = 0.9;
const TARGET_NICUP_MS = 50;
/** kernel.py's command (the tap's link, sysctls, routes, proxy entry and announcement), as ports-nicup.ts names commands. */
const KERNEL = 'python3 -I -S';

const count = (n: number) => n.toLocaleString('en');
const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');
const ms = (xs: readonly number[]) => `${median(xs).toFixed(1)} ms`;
const spread = (xs: readonly number[]) =>
  `(p95 ${quantile(xs, 0.95).toFixed(1)}, min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, ${xs.length} calls)`;
const cliText = (c: CliTimes) =>
  c.failed !== undefined ? `FAILED (${c.failed})` : `${ms(c.times).padStart(10)}  ${spread(c.times)}`;
/** The median of the per-round ratios a[i] / b[i]. */
const ratioOf = (a: readonly number[], b: readonly number[]) =>
  median(a.map((x, i) => x / (b[i] ?? Number.NaN)));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} kB`;

export interface Figures {
  readonly settings: typeof SETTINGS;
  readonly machine: ReturnType<typeof machineInfo>;
  readonly built: readonly Built[];
  readonly checks: readonly Checked[];
  readonly fib: { small: Fib; large: Fib };
  readonly nicUp: { small: NicUp; large: NicUp };
}

function labs(f: Figures): void {
  const [small] = f.built as [Built];
  out(
    `node: routed network public (table ${TABLE}, trunk eth1 untagged, 10.80.0.0/16, 2001:db8::/64), the node's rendered files loaded (${small.lab.rules} nft rules; ${f.nicUp.small.rules.ip} ip rules, both families)`,
  );
  for (const b of f.built) {
    const p = b.plugged;
    out(
      `  ${b.label.padEnd(6)} ${count(b.guests)} guests: spec read ${b.read.toFixed(2)} s, ${count(Math.max(0, b.guests - 2))} taps created (ip tuntap, one ip -batch) in ${b.taps.toFixed(2)} s, ${count(p.calls)} NICs plugged by nic up in ${p.seconds.toFixed(1)} s (${f.settings.workers} workers; ${p.medianMs.toFixed(1)} ms a call, p95 ${p.p95Ms.toFixed(1)})`,
    );
  }
  for (const c of f.checks)
    out(
      `  ${c.label.padEnd(6)} path: in "${c.inbound}"; replies "${c.outbound}"; upstream sees s at ${c.neighbour} (the node's trunk); spoofed ping ${c.spoofed ? 'PASSED' : 'dropped'}`,
    );
}

function fib(f: Figures): void {
  const [small, large] = f.built as [Built, Built];
  out('');
  out(
    `FIB of table ${TABLE}: trie from /proc/net/fib_triestat; IPv6 from /proc/net/rt6_stats; lookups: ${count(f.settings.lookups)} x ip route get ADDR from client iif eth1 in one ip -batch, median of ${f.settings.lookupRounds}`,
  );
  out('  lab    guests   leaves  depth avg/max     trie  v6 routes   10 guests  every guest   no guest');
  const us = (xs: readonly number[]) => `${median(xs).toFixed(2)} us`;
  for (const b of f.built) {
    const x = f.fib[b.label];
    const t = x.trie;
    const cells = [
      count(b.guests).padStart(6),
      String(t?.leaves ?? '?').padStart(8),
      `${t?.averDepth.toFixed(2)}/${t?.maxDepth}`.padStart(14),
      `${t?.totalKb} kB`.padStart(8),
      String(x.rt6.entries).padStart(10),
      us(x.sameUs).padStart(11),
      us(x.everyUs).padStart(12),
      us(x.nobodyUs).padStart(10),
    ];
    out(`  ${b.label.padEnd(6)} ${cells.join(' ')}`);
  }
  const routes = large.guests - small.guests;
  const trieBytes = ((f.fib.large.trie?.totalKb ?? 0) - (f.fib.small.trie?.totalKb ?? 0)) * 1024;
  const v6 = (f.fib.large.rt6.entries ?? 0) - (f.fib.small.rt6.entries ?? 0);
  const r = (of: (x: Fib) => number[]) => ratioOf(of(f.fib.large), of(f.fib.small)).toFixed(3);
  out(
    `  per guest: ${(trieBytes / routes).toFixed(0)} bytes of IPv4 trie, ${(v6 / routes).toFixed(2)} IPv6 routes; lookups large/small ${r((x) => x.sameUs)} (the same 10 guests), ${r((x) => x.everyUs)} (every guest), ${r((x) => x.nobodyUs)} (no guest); medians of the per-round ratios`,
  );
  const delta = Object.keys(large.slabs.after)
    .map((s) => `${s} ${kb((large.slabs.after[s] ?? 0) - (large.slabs.before[s] ?? 0))}`)
    .join(', ');
  out(`  slabs, machine-wide, across the large node's plugging: ${delta}`);
}

function connections(f: Figures): number {
  const [small, large] = f.built as [Built, Built];
  out('');
  out(
    `new TCP connections, client -> s:22 through the upstream router and the node, median of ${f.settings.rounds} rounds, labs interleaved`,
  );
  out(`  connrate.py, ${f.settings.connClients} clients for ${f.settings.connSeconds} s`);
  out('  lab    guests          conn/s    median');
  for (const b of f.built)
    out(
      `  ${b.label.padEnd(6)} ${`${count(b.guests)} guests`.padEnd(14)} ${median(
        b.conn.map((c) => c.perSecond),
      )
        .toFixed(1)
        .padStart(8)} ${`${median(b.conn.map((c) => c.medianMs)).toFixed(1)} ms`.padStart(9)}`,
    );
  const ratio = ratioOf(
    large.conn.map((c) => c.perSecond),
    small.conn.map((c) => c.perSecond),
  );
  out(`  large/small: conn/s ${ratio.toFixed(3)} (target >= ${TARGET_RATIO}: ${met(ratio >= TARGET_RATIO)})`);
  for (const b of f.built) note(`${b.label} conn/s ${b.conn.map((c) => c.perSecond.toFixed(0)).join(', ')}`);
  return ratio;
}

function nicUp(f: Figures): void {
  const { large: l, small: s } = f.nicUp;
  const [, large] = f.built as [Built, Built];
  out('');
  out(
    `nic up of p's tap on the node with ${count(large.guests)} guests plugged; core: nicUp in its own process in the node's namespace; CLI: node + the bundled CLI, spec or cache read included`,
  );
  out(
    `  core up (fresh tap)   ${ms(l.core.up).padStart(10)}  ${spread(l.core.up)}  target < ${TARGET_NICUP_MS} ms: ${met(median(l.core.up) < TARGET_NICUP_MS)}`,
  );
  const parts = (op: 'up' | 'again' | 'down') =>
    `    of which          ${Object.entries(l.core.parts[op])
      .map(([what, xs]) => `${what} ${ms(xs)}`)
      .join(', ')}`;
  out(parts('up'));
  const kernel = l.core.parts.up[KERNEL];
  if (kernel) {
    const rest = l.core.up.map((x, i) => x - (kernel[i] ?? 0));
    out(
      `  core up, less python3  ${ms(rest).padStart(9)}  ${spread(rest)}  (kernel.py's process left out: link, sysctls, routes, proxy entry, announcement)`,
    );
  }
  out(`  core up again         ${ms(l.core.again).padStart(10)}  ${spread(l.core.again)}`);
  out(parts('again'));
  out(`  core down             ${ms(l.core.down).padStart(10)}  ${spread(l.core.down)}`);
  out(parts('down'));
  out(`  CLI nic up, cold      ${cliText(l.cli.nicUp)}  (no cache: spec read, cache written)`);
  out(`  CLI nic up, warm      ${cliText(l.cli.warm)}  (${l.cli.cached} cache entry)`);
  out(`  CLI --version         ${cliText(l.cli.version)}  (node and the CLI alone)`);
  out(
    `  rules                 nft ${l.rules.nft} before, ${l.after.nft} after; ip rules ${l.rules.ip} before, ${l.after.ip} after: unchanged`,
  );
  out(
    `  with ${s.core.up.length > 0 ? count(f.built[0]?.guests ?? 0) : '?'} guests: core up ${ms(s.core.up)} (p95 ${quantile(s.core.up, 0.95).toFixed(1)}), up again ${ms(s.core.again)}, down ${ms(s.core.down)}, CLI nic up cold ${cliText(s.cli.nicUp)}, warm ${cliText(s.cli.warm)}`,
  );
}

export function report(f: Figures): void {
  labs(f);
  fib(f);
  const ratio = connections(f);
  nicUp(f);
  if (json)
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: f.machine,
          settings: f.settings,
          labs: f.built.map((b) => ({ ...b, lab: undefined, file: undefined })),
          checks: f.checks,
          fib: f.fib,
          ratio,
          nicUp: f.nicUp,
        },
        null,
        2,
      )}\n`,
    );
}
