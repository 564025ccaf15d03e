// Compile + render of a large generated cluster: 200 nodes, 20,000 guests, 20,000 forwards.
// Each stage runs in its own process so that its peak memory is its own:
//   load     YAML text with positions -> validated, resolved cluster
//   compile  resolved cluster -> HostPlan and rendered files for every node
// Also prints per-node rule and element counts: only map elements grow with the cluster.
// Run: npm run bench   (figures go into bench/README.md; NODES/GUESTS/FORWARDS override the sizes;
// -- --smoke runs 4 nodes, 40 guests, 40 forwards)
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { compiler } from '../src/systems/cluster/compile/index.ts';
import { clusterKind } from '../src/systems/cluster/kind.ts';
import { renderNode } from '../src/systems/cluster/render.ts';
import { resolve } from '../src/systems/cluster/resolve.ts';
import { ClusterSchema } from '../src/systems/cluster/schema.ts';
import { validate } from '../src/systems/cluster/validate.ts';

/** Stateless's chains of one node tag (features/stateless/tags.ts). */
const TAG_CHAIN = /-tag-\d+$/;

import { parseSpecTextOf } from '../src/systems/kinds.ts';
import { generateSpec } from '../test/support/generate.ts';
import { SMOKE_LINE, setting, smoke } from './smoke.ts';

const sizes = {
  nodes: setting('NODES', 200, 4),
  guests: setting('GUESTS', 20000, 40),
  forwards: setting('FORWARDS', 20000, 40),
};
const spec = () => generateSpec({ ...sizes, strategy: 'mixed' });
const peakMb = () => process.resourceUsage().maxRSS / 1024;

function stageLoad() {
  const text = stringify(spec());
  const before = peakMb();
  const t = performance.now();
  const loaded = parseSpecTextOf(text, 'gen.yaml', clusterKind);
  if (validate(loaded.spec).length) throw new Error('generated spec is invalid');
  resolve(loaded.spec);
  const ms = performance.now() - t;
  // Baseline in the same process: a JSON round trip of the same data.
  const b = performance.now();
  JSON.parse(JSON.stringify(loaded.spec));
  return {
    ms,
    baselineMs: performance.now() - b,
    yamlMb: text.length / 1e6,
    peakBeforeMb: before,
    peakMb: peakMb(),
  };
}

function stageCompile() {
  const raw = spec();
  const cluster = resolve(ClusterSchema.parse(raw));
  // Baseline in the same process, before compiling: a JSON round trip of the spec as written.
  const b = performance.now();
  JSON.parse(JSON.stringify(raw));
  const baselineMs = performance.now() - b;
  const before = peakMb();
  const t = performance.now();
  const c = compiler(cluster);
  let bytes = 0;
  const rules = new Set<number>();
  const tagChains = new Set<number>();
  let minElements = Number.POSITIVE_INFINITY;
  let maxElements = 0;
  for (const node of c.nodes) {
    const plan = c.compileNode(node);
    let r = 0;
    let e = 0;
    let tags = 0;
    for (const table of plan.ruleset.tables) {
      // Stateless's chains per node tag (one rule each, reached by a verdict map): they grow with
      // the nodes, while what a packet passes does not.
      for (const chain of table.chains)
        if (TAG_CHAIN.test(chain.name)) tags++;
        else r += chain.rules.length;
      for (const set of table.sets) e += set.elements.length;
    }
    rules.add(r);
    tagChains.add(tags);
    minElements = Math.min(minElements, e);
    maxElements = Math.max(maxElements, e);
    for (const f of renderNode(plan)) for (const chunk of f.chunks) bytes += chunk.length;
  }
  const ms = performance.now() - t;
  return {
    ms,
    baselineMs,
    renderedMb: bytes / 1e6,
    rules: [...rules],
    tagChains: [...tagChains],
    minElements,
    maxElements,
    peakBeforeMb: before,
    peakMb: peakMb(),
  };
}

const stage = process.argv[2];
if (stage === 'load') console.log(JSON.stringify(stageLoad()));
else if (stage === 'compile') console.log(JSON.stringify(stageCompile()));
else {
  const child = (name: string) => {
    const argv = [...process.execArgv, import.meta.filename, name, ...(smoke ? ['--smoke'] : [])];
    const r = spawnSync(process.execPath, argv, {
      encoding: 'utf8',
      env: process.env,
    });
    if (r.status !== 0) throw new Error(`${name} stage failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() as string);
  };
  const load = child('load');
  const comp = child('compile');
  const small = (() => {
    const save = { ...sizes };
    Object.assign(sizes, { nodes: 2, guests: 2, forwards: 3 });
    const r = stageCompile();
    Object.assign(sizes, save);
    return r;
  })();
  const ms = (v: number) => `${v.toFixed(0)} ms`.padStart(8);
  if (smoke) console.log(SMOKE_LINE);
  console.log(
    `cluster: ${sizes.nodes} nodes, ${sizes.guests} guests, ${sizes.forwards} forwards (half stateless, half fullnat); node ${process.version}`,
  );
  console.log(
    `compile + render, all nodes   ${ms(comp.ms)}  ${(comp.ms / comp.baselineMs).toFixed(1)}x a JSON round trip of the spec (${ms(comp.baselineMs).trim()})   target < 2000 ms`,
  );
  console.log(
    `  peak memory (max RSS)        ${comp.peakMb.toFixed(0).padStart(5)} MB   (${comp.peakBeforeMb.toFixed(0)} MB before compiling: spec generation)   target < 500 MB`,
  );
  console.log(`  rendered                     ${comp.renderedMb.toFixed(1)} MB of files`);
  console.log(
    `  rules per node               ${comp.rules.join(', ')}   (2-node example: ${small.rules.join(', ')}): constant`,
  );
  console.log(
    `  + chains per node tag        ${comp.tagChains.join(', ')}   (2-node example: ${small.tagChains.join(', ')}): one rule each, one verdict-map lookup per packet`,
  );
  console.log(
    `  set/map elements per node    ${comp.minElements}..${comp.maxElements}   (2-node example: ${small.minElements}..${small.maxElements})`,
  );
  console.log(
    `load (YAML ${load.yamlMb.toFixed(1)} MB with positions) ${ms(load.ms)}  ${(load.ms / load.baselineMs).toFixed(0)}x a JSON round trip of the spec (${ms(load.baselineMs).trim()})`,
  );
  console.log(
    `  peak memory (max RSS)        ${load.peakMb.toFixed(0).padStart(5)} MB   (${load.peakBeforeMb.toFixed(0)} MB before loading: spec generation)`,
  );
}
