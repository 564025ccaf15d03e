// Helpers for tests that feed specs through the real loader and validator.
import { stringify } from 'yaml';
import { locateAll } from '../../src/input/load.ts';
import { formatProblem, SpecError } from '../../src/input/problem.ts';
import { cgnatKind } from '../../src/systems/cgnat/kind.ts';
import type { Cgnat } from '../../src/systems/cgnat/model.ts';
import { resolveCgnat } from '../../src/systems/cgnat/resolve.ts';
import { validateCgnat } from '../../src/systems/cgnat/validate.ts';
import { clusterKind } from '../../src/systems/cluster/kind.ts';
import type { Cluster } from '../../src/systems/cluster/model.ts';
import { resolve } from '../../src/systems/cluster/resolve.ts';
import { validate } from '../../src/systems/cluster/validate.ts';
import { parseSpecTextOf } from '../../src/systems/kinds.ts';

/** YAML text -> Cluster, or throws SpecError, exactly as `convergent check` does. */
export function clusterFromText(text: string, file = 'cluster.yaml'): Cluster {
  const { spec, source } = parseSpecTextOf(text, file, clusterKind);
  const problems = validate(spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, source, file));
  return resolve(spec);
}

export function clusterFromObject(spec: unknown): Cluster {
  return clusterFromText(stringify(spec));
}

/** The formatted problems ("file:line:col: error: …\n  fix: …") a text yields; [] when valid. */
export function problemsOf(text: string, file = 'cluster.yaml'): string[] {
  try {
    clusterFromText(text, file);
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.problems.map(formatProblem);
    throw err;
  }
}

/** YAML text of a CGNAT spec -> Cgnat, or throws SpecError, exactly as `convergent check` does. */
export function cgnatFromText(text: string, file = 'cgnat.yaml'): Cgnat {
  const loaded = parseSpecTextOf(text, file, cgnatKind);
  const problems = validateCgnat(loaded.spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, loaded.source, file));
  return resolveCgnat(loaded.spec);
}

/** The formatted problems of a CGNAT spec text; [] when valid. */
export function cgnatProblemsOf(text: string, file = 'cgnat.yaml'): string[] {
  try {
    cgnatFromText(text, file);
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.problems.map(formatProblem);
    throw err;
  }
}
