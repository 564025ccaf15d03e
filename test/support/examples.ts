// The bundled examples, rendered as `convergent render` does.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RenderedFile } from '../../src/host/files.ts';
import { readSpec } from '../../src/systems/registry.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');

/** Every bundled example: cluster specs and CGNAT specs (cgnat-*.yaml). */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(EXAMPLES_DIR, f));
}

/** The cluster specs among the examples. */
export const clusterExamples = () => exampleFiles().filter((f) => readSpec(f).system.kind === 'cluster');

export function exampleName(file: string): string {
  return basename(file, '.yaml');
}

/** host -> rendered files, for one example file: each node, or a CGNAT spec's router. */
export function renderExample(file: string): Map<string, RenderedFile[]> {
  const { system, spec } = readSpec(file);
  return new Map([...system.render(spec)].map(([host, files]) => [host, [...files]]));
}
