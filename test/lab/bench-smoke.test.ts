// Every benchmark, run as a user runs it but with --smoke (tiny durations, one round, the smallest
// sizes): a bench that no longer runs fails here, not months later when someone wants figures.
// Each must exit 0, print its result lines with numeric figures and ratios, leave no namespace of
// its run behind, and write no file into bench/ (its README holds the real figures).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { SMOKE_LINE } from '../../bench/smoke.ts';
import { needsRoot, needsVm } from '../support/root.ts';

/** The throughput benchmarks run iperf3 besides the lab's tools. */
const withIperf3 = (t: TestContext) => needsRoot(t, 'iperf3');

const ROOT = join(import.meta.dirname, '..', '..');
const BENCH = join(ROOT, 'bench');
const number = String.raw`(-?\d+(?:\.\d+)?)`;

interface Bench {
  readonly file: string;
  readonly needs?: (t: TestContext) => boolean;
  /** Lines of the result; every group of each must be a finite number. */
  readonly results: readonly RegExp[];
}

const BENCHES: readonly Bench[] = [
  {
    file: 'compile.bench.ts',
    results: [
      new RegExp(`^compile \\+ render, all nodes +${number} ms +${number}x a JSON round trip`, 'm'),
      new RegExp(`^ {2}peak memory \\(max RSS\\) +${number} MB`, 'm'),
      new RegExp(`^load \\(YAML ${number} MB with positions\\) +${number} ms +${number}x`, 'm'),
    ],
  },
  {
    file: 'lab.bench.ts',
    needs: withIperf3,
    results: [
      new RegExp(
        `^ {2}examples/part4-stateless\\.yaml +${number} s .* ${number}/${number} passed +${number}x ${number} bare namespaces`,
        'm',
      ),
      new RegExp(`^ {2}up +${number} s +${number}x ${number} bare namespaces`, 'm'),
      new RegExp(`^ {2}cleanup +${number} s +${number}x`, 'm'),
      ...['foreign', 'local', 'baseline-foreign', 'baseline-local'].map(
        (kind) => new RegExp(`^ {2}${kind} +${number} Gbit/s`, 'm'),
      ),
      new RegExp(`^ {2}foreign/baseline-foreign +${number} +median of the per-round ratios`, 'm'),
      new RegExp(`^ {2}local/baseline-local +${number} +median of the per-round ratios`, 'm'),
    ],
  },
  {
    file: 'strategies.bench.ts',
    needs: withIperf3,
    results: [
      new RegExp(
        `^ctsync against fullnat, through the foreign node: conn/s ${number} \\(target >= 0\\.5\\), median ${number} ms \\(< 10\\), p99 ${number} ms \\(< 50\\), failed ${number} \\(0\\)$`,
        'm',
      ),
      ...['fullnat', 'stateless', 'ctsync'].map(
        // strategy, conn/s, its ratio, median, p90 and p99 latency, Gbit/s, its ratio
        (s) =>
          new RegExp(
            `^ {2}${s} +${number} +${number} +${number} ms +${number} ms +${number} ms +${number} +${number}$`,
            'm',
          ),
      ),
    ],
  },
  {
    file: 'vm.bench.ts',
    needs: needsVm,
    // namespace, vm boot, vm total, overhead
    results: [
      new RegExp(
        `^ {2}examples/part4-stateless\\.yaml +${number} s +${number} s +${number} s +${number} s$`,
        'm',
      ),
    ],
  },
  {
    file: 'cgnat.bench.ts',
    needs: withIperf3,
    results: [
      ...['base', 'tenants', 'clients', 'strict'].map(
        (s) => new RegExp(`^ {2}${s} +.*? +${number} +${number} ms +${number} +${number} +${number}$`, 'm'),
      ),
      ...['tenants/base', 'clients/base', 'base/strict .*?'].map(
        (r) => new RegExp(`^ {2}${r}: conn/s ${number} \\(.*\\), Gbit/s ${number} \\(`, 'm'),
      ),
      new RegExp(`^ {2}1,024 subscribers +${number} s +${number} s +${number} MB$`, 'm'),
    ],
  },
  {
    file: 'ports.bench.ts',
    needs: needsRoot,
    results: [
      // lab, what, conn/s, median latency, pps received, pps sent
      ...['small', 'large', 'base'].map(
        (l) => new RegExp(`^ {2}${l} +.*? +${number} +${number} ms +${number} +${number}$`, 'm'),
      ),
      ...['large/small', 'small/base', 'large/base'].map(
        (r) => new RegExp(`^ {2}${r}: conn/s ${number}.*, pps ${number}`, 'm'),
      ),
      new RegExp(`^ {2}core up \\(fresh tap\\) +${number} ms`, 'm'),
      new RegExp(`^ {2}CLI nic up, cold +${number} ms`, 'm'),
      new RegExp(`^ {2}CLI nic up, warm +${number} ms`, 'm'),
      new RegExp(`^ {2}rules +${number} before, ${number} after: unchanged$`, 'm'),
    ],
  },
  {
    file: 'routed.bench.ts',
    needs: needsRoot,
    results: [
      // lab, guests, conn/s, median latency; the ratio; nic up; the FIB's cost per guest
      ...['small', 'large'].map(
        (l) => new RegExp(`^ {2}${l} +[\\d,]+ guests +${number} +${number} ms$`, 'm'),
      ),
      new RegExp(`^ {2}large/small: conn/s ${number}`, 'm'),
      new RegExp(`^ {2}core up \\(fresh tap\\) +${number} ms +\\(p95 ${number}`, 'm'),
      new RegExp(
        `^ {2}per guest: ${number} bytes of IPv4 trie, ${number} IPv6 routes; lookups large/small ${number}`,
        'm',
      ),
    ],
  },
  {
    file: 'insert.bench.ts',
    needs: withIperf3,
    results: [
      // path, conn/s, median latency, Gbit/s
      ...['through fw1', 'direct'].map(
        (p) => new RegExp(`^ {2}${p} +${number} +${number} ms +${number}$`, 'm'),
      ),
      new RegExp(`^ {2}through/direct: conn/s ${number}, Gbit/s ${number}$`, 'm'),
      new RegExp(`^ {2}fw1 forwarded ${number} packets through, 0 direct`, 'm'),
    ],
  },
  {
    file: 'apply.bench.ts',
    needs: needsRoot,
    results: [
      new RegExp(`^ {2}plan \\(read terse, delta, nft -c\\) +${number} ms$`, 'm'),
      new RegExp(`^ {2}element change +${number} ms +\\(nft -f of ${number} lines\\)`, 'm'),
      new RegExp(`^ {2}full replace +${number} ms$`, 'm'),
      new RegExp(`^ {2}full/element +${number} +median of the per-round ratios$`, 'm'),
      new RegExp(
        `^ {2}TCP connection through the node: ${number} exchanges, longest gap ${number} ms; .*: yes$`,
        'm',
      ),
    ],
  },
  {
    file: 'scale.bench.ts',
    needs: needsRoot,
    results: [
      // strategy, path, measure: 10 forwards, 50,000 (200 in smoke), the ratio
      ...['fullnat', 'stateless', 'ctsync'].flatMap((s) =>
        ['foreign', 'local'].flatMap((path) =>
          ['conn/s', 'trans/s', 'udp pps'].map(
            (m) =>
              new RegExp(
                `^ {2}${s} +${path} +${m} +${number} +${number} +${number} {2}(?:met|NOT MET)$`,
                'm',
              ),
          ),
        ),
      ),
      // the large ruleset's load in a fresh namespace: time and nft's peak RSS
      ...['fullnat', 'stateless', 'ctsync'].map(
        (s) =>
          new RegExp(`^ {2}${s} +node1 +[\\d,]+ forwards: nft -f ${number} ms, peak RSS ${number} MB`, 'm'),
      ),
    ],
  },
];

/** bench/ as it is on disk: every file with its size and modification time. */
const benchFiles = () =>
  readdirSync(BENCH)
    .sort()
    .map((name) => {
      const s = statSync(join(BENCH, name));
      return `${name} ${s.size} ${s.mtimeMs}`;
    });

const namespacesOf = (pid: number) =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.startsWith(`cvg-${pid}-`));

describe('benchmarks in smoke mode', () => {
  for (const bench of BENCHES)
    test(`${bench.file} --smoke runs and prints its figures`, (t) => {
      if (bench.needs && !bench.needs(t)) return;
      const before = benchFiles();
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(BENCH, bench.file), '--smoke'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
        timeout: 300_000,
        killSignal: 'SIGTERM', // the lab benches clean up on it
      });
      const output = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `exit ${r.status} (${r.signal ?? 'no signal'}):\n${output}`);
      assert.ok(r.stdout.includes(SMOKE_LINE), r.stdout);
      for (const line of bench.results) {
        const m = line.exec(r.stdout);
        assert.ok(m, `no line matching ${line} in:\n${r.stdout}`);
        for (const figure of m.slice(1))
          assert.ok(
            Number.isFinite(Number(figure)),
            `${JSON.stringify(figure)} is not a number in "${m[0]}"`,
          );
      }
      if (r.pid !== undefined) assert.deepEqual(namespacesOf(r.pid), [], 'namespaces left behind');
      assert.deepEqual(benchFiles(), before, 'a smoke run wrote into bench/');
    });
});
