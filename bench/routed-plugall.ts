// Plugs guests FIRST..LAST-1 of bench/routed.bench.ts's spec on their taps with the real `nic up`
// core, one call each, as a node's hooks would one guest after the other; run in the node's
// namespace (bench/routed-plug.ts starts it there, one process per worker).
//   usage: routed-plugall.ts SPEC NODE FIRST LAST
//   prints {"calls", "seconds", "read", "ms": [ms per call]}: read is the spec's, before the clock runs
import { performance } from 'node:perf_hooks';
import { execWith, nicUp } from '../src/systems/cluster/nic/index.ts';
import { readCluster } from '../src/systems/cluster/system.ts';
import { tapOf, wideRunner } from './ports-lab.ts';
import { guestName } from './routed-spec.ts';

const [file, node, first, last] = process.argv.slice(2);
if (!file || !node || !first || !last) throw new Error('usage: routed-plugall.ts SPEC NODE FIRST LAST');
const t0 = performance.now();
const cluster = readCluster(file);
const read = (performance.now() - t0) / 1000;
const exec = execWith(wideRunner);
const ms: number[] = [];
const start = performance.now();
for (let i = Number(first); i < Number(last); i++) {
  const t = performance.now();
  nicUp(exec, cluster, node, guestName(i), tapOf(guestName(i)));
  ms.push(Math.round((performance.now() - t) * 100) / 100);
}
const seconds = (performance.now() - start) / 1000;
process.stdout.write(`${JSON.stringify({ calls: ms.length, seconds, read, ms })}\n`);
