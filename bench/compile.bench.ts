// Compile + render of a large generated cluster: 200 nodes, 20,000 guests, 20,000 forwards.
// Prints time and peak memory, and per-node rule and element counts to show that only map
// elements grow with the cluster. Run: npm run bench   (figures go into bench/README.md)
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { compiler } from '../src/compile/index.ts';
import { renderNode } from '../src/render/files.ts';
import { parseSpec } from '../src/spec/load.ts';
import { resolve } from '../src/spec/resolve.ts';
import { validate } from '../src/spec/validate.ts';
import { generateSpec } from '../test/support/generate.ts';

const sizes = { nodes: Number(process.env.NODES ?? 200), guests: Number(process.env.GUESTS ?? 20000), forwards: Number(process.env.FORWARDS ?? 20000) };

function counts(plan: ReturnType<ReturnType<typeof compiler>['compileNode']>) {
  let rules = 0;
  let elements = 0;
  for (const t of plan.ruleset.tables) {
    for (const c of t.chains) rules += c.rules.length;
    for (const s of t.sets) elements += s.elements.length;
  }
  return { rules, elements };
}

function run(o: typeof sizes) {
  const yamlText = stringify(generateSpec({ ...o, strategy: 'mixed' }));

  // Baseline, same run: a plain JSON round trip of the same spec (work proportional to its size).
  const data = JSON.parse(JSON.stringify(parseSpec(yamlText, 'gen.yaml').spec));
  let t = performance.now();
  JSON.parse(JSON.stringify(data));
  const baselineMs = performance.now() - t;

  t = performance.now();
  const { spec } = parseSpec(yamlText, 'gen.yaml');
  const problems = validate(spec);
  if (problems.length) throw new Error(`generated spec invalid: ${problems[0]?.message}`);
  const cluster = resolve(spec);
  const loadMs = performance.now() - t;

  t = performance.now();
  const c = compiler(cluster);
  let bytes = 0;
  const perNode: { rules: number; elements: number }[] = [];
  for (const node of c.nodes) {
    const plan = c.compileNode(node);
    perNode.push(counts(plan));
    for (const f of renderNode(plan)) bytes += f.text.length;
  }
  const compileRenderMs = performance.now() - t;
  return { yamlBytes: yamlText.length, baselineMs, loadMs, compileRenderMs, bytes, perNode };
}

const small = run({ nodes: 2, guests: 2, forwards: 3 });
const big = run(sizes);
const peakMb = process.resourceUsage().maxRSS / 1024;
const rules = new Set(big.perNode.map((p) => p.rules));
const elements = big.perNode.map((p) => p.elements);

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(`cluster: ${sizes.nodes} nodes, ${sizes.guests} guests, ${sizes.forwards} forwards (half stateless, half fullnat)`);
console.log(`spec YAML: ${(big.yamlBytes / 1e6).toFixed(1)} MB; rendered: ${(big.bytes / 1e6).toFixed(1)} MB over ${sizes.nodes} nodes`);
console.log(`load + validate + resolve (YAML with positions): ${fmt(big.loadMs)}`);
console.log(`compile + render, all nodes:                     ${fmt(big.compileRenderMs)}  (target < 2000 ms)`);
console.log(`baseline, JSON round trip of the same spec:      ${fmt(big.baselineMs)}  -> compile+render = ${(big.compileRenderMs / big.baselineMs).toFixed(1)}x baseline`);
console.log(`peak memory (max RSS of the whole run):          ${peakMb.toFixed(0)} MB  (target < 500 MB)`);
console.log(`rules per node: ${[...rules].join(', ')} (2-node example: ${[...new Set(small.perNode.map((p) => p.rules))].join(', ')}) -- constant`);
console.log(`map/set elements per node: min ${Math.min(...elements)}, max ${Math.max(...elements)} (2-node example: ${small.perNode[0]?.elements})`);
