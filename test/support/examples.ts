// The bundled examples, rendered as `convergent render` does.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compileCgnat } from '../../src/systems/cgnat/compile/index.ts';
import { renderCgnat } from '../../src/systems/cgnat/render.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { type RenderedFile, renderNode } from '../../src/systems/cluster/render.ts';
import { readAnySpec } from '../../src/systems/read.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');

/** Every bundled example: cluster specs and CGNAT specs (cgnat-*.yaml). */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(EXAMPLES_DIR, f));
}

/** The cluster specs among the examples. */
export const clusterExamples = () => exampleFiles().filter((f) => readAnySpec(f).kind === 'cluster');

export function exampleName(file: string): string {
  return basename(file, '.yaml');
}

/** host -> rendered files, for one example file: each node, or a CGNAT spec's router. */
export function renderExample(file: string): Map<string, RenderedFile[]> {
  const spec = readAnySpec(file);
  if (spec.kind === 'cgnat') return new Map([[spec.cgnat.router, renderCgnat(compileCgnat(spec.cgnat))]]);
  const plans = compileCluster(spec.cluster);
  return new Map(plans.map((p) => [p.node, renderNode(p)]));
}
