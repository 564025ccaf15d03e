// The bundled examples, rendered as `convergent render` does.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compileCluster } from '../../src/compile/index.ts';
import { type RenderedFile, renderNode } from '../../src/render/files.ts';
import { readCluster } from '../../src/spec/read.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(EXAMPLES_DIR, f));
}

export function exampleName(file: string): string {
  return basename(file, '.yaml');
}

/** node -> rendered files, for one example file. */
export function renderExample(file: string): Map<string, RenderedFile[]> {
  const plans = compileCluster(readCluster(file));
  return new Map(plans.map((p) => [p.node, renderNode(p)]));
}
