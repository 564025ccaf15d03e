// The front door of the spec stage: file -> checked, resolved Cluster, or a SpecError with every problem.

import { locateAll, readAnySpecFile, readSpecFile } from '../input/load.ts';
import { SpecError } from '../input/problem.ts';
import type { SourceMap } from '../input/source.ts';
import type { Cgnat } from './cgnat/model.ts';
import { resolveCgnat } from './cgnat/resolve.ts';
import { validateCgnat } from './cgnat/validate.ts';
import type { Cluster } from './cluster/model.ts';
import { resolve } from './cluster/resolve.ts';
import type { ClusterSpec } from './cluster/schema.ts';
import { validate } from './cluster/validate.ts';

export type AnySpec =
  | { readonly kind: 'cluster'; readonly cluster: Cluster }
  | { readonly kind: 'cgnat'; readonly cgnat: Cgnat };

/** A spec of either kind, checked and resolved. */
export function readAnySpec(file: string): AnySpec {
  const loaded = readAnySpecFile(file);
  if (loaded.kind === 'cluster')
    return { kind: 'cluster', cluster: checked(loaded.spec, loaded.source, file) };
  const problems = validateCgnat(loaded.spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, loaded.source, file));
  return { kind: 'cgnat', cgnat: resolveCgnat(loaded.spec) };
}

/** A CGNAT spec, checked and resolved; a cluster spec is an error naming the kind. */
export function readCgnat(file: string): Cgnat {
  const spec = readAnySpec(file);
  if (spec.kind === 'cgnat') return spec.cgnat;
  throw new SpecError([
    {
      file,
      location: { line: 1, col: 1 },
      path: [],
      message: 'this is a cluster spec; the cgnat commands take a CGNAT spec',
      fix: 'add "kind: cgnat" to a CGNAT spec',
    },
  ]);
}

export function readCluster(file: string): Cluster {
  const { spec, source } = readSpecFile(file);
  return checked(spec, source, file);
}

function checked(spec: ClusterSpec, source: SourceMap, file: string): Cluster {
  const problems = validate(spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, source, file));
  return resolve(spec);
}
