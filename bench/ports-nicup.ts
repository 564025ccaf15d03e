// Times the `nic up` core on a node, run there (bench/ports.bench.ts starts it in the node's
// namespace): ROUNDS rounds of nic down, nic up of the now empty tap, nic up again of the same tap.
//   usage: ports-nicup.ts SPEC NODE GUEST TAP ROUNDS
//   prints {"up": [ms], "again": [ms], "down": [ms], "parts": {"up": {"nft -f -": [ms], ...}, ...}}:
//   parts splits each call by the commands it ran (their first words), "rest" being the core's own
//   work (finding the NIC, parsing what nft listed).
// The spec is read once, before the clock runs: the CLI reads it on every call (the bench times that
// separately). Commands run through wideRunner (ports-lab.ts), without node's 1 MiB output limit.
import { performance } from 'node:perf_hooks';
import { type Exec, execWith, nicDown, nicUp } from '../src/systems/cluster/nic/index.ts';
import { readCluster } from '../src/systems/cluster/system.ts';
import { wideRunner } from './ports-lab.ts';

const [file, node, guest, tap, rounds] = process.argv.slice(2);
if (!file || !node || !guest || !tap || !rounds)
  throw new Error('usage: ports-nicup.ts SPEC NODE GUEST TAP ROUNDS');
const cluster = readCluster(file);
const run = execWith(wideRunner);
/** ms per command of the call under way, by the command's first words. */
let call = new Map<string, number>();
const exec: Exec = (argv, stdin) => {
  const t = performance.now();
  const r = run(argv, stdin);
  const what = argv.slice(0, argv[1]?.startsWith('-') ? 3 : 2).join(' ');
  call.set(what, (call.get(what) ?? 0) + performance.now() - t);
  return r;
};
const times = { up: [] as number[], again: [] as number[], down: [] as number[] };
type Op = keyof typeof times;
const parts: Record<Op, Record<string, number[]>> = { up: {}, again: {}, down: {} };
const timed = (op: Op, f: () => void) => {
  call = new Map();
  const t = performance.now();
  f();
  const total = performance.now() - t;
  times[op].push(total);
  call.set('rest', total - [...call.values()].reduce((a, b) => a + b, 0));
  // A command a call did not run counts 0 for it: every list has one entry per call.
  const done = times[op].length - 1;
  for (const [what, ms] of call) {
    const xs = parts[op][what] ?? Array<number>(done).fill(0);
    parts[op][what] = xs;
    xs.push(ms);
  }
  for (const xs of Object.values(parts[op])) if (xs.length === done) xs.push(0);
};
// Plugged once before the clock runs: every timed down then finds what an up recorded.
nicUp(exec, cluster, node, guest, tap);
for (let i = 0; i < Number(rounds); i++) {
  timed('down', () => nicDown(exec, cluster, node, tap, { localOnly: false }));
  timed('up', () => nicUp(exec, cluster, node, guest, tap));
  timed('again', () => nicUp(exec, cluster, node, guest, tap));
}
process.stdout.write(`${JSON.stringify({ ...times, parts })}\n`);
