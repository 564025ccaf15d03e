// The front door of the spec stage: file -> checked, resolved Cluster, or a SpecError with every problem.
import { locateAll, readSpecFile } from './load.ts';
import type { Cluster } from './model.ts';
import { SpecError } from './problem.ts';
import { resolve } from './resolve.ts';
import { validate } from './validate.ts';

export function readCluster(file: string): Cluster {
  const { spec, source } = readSpecFile(file);
  const problems = validate(spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, source, file));
  return resolve(spec);
}
