// What the lab tests read from a lab report: the checks that failed, by name and with their problems.
import type { LabReport } from '../../src/lab/result.ts';

export const failedNames = (r: LabReport): string[] => r.results.filter((x) => !x.passed).map((x) => x.name);

/** The failed checks with their problems, for an assertion's message. */
export const failures = (r: LabReport): string =>
  r.results
    .filter((x) => !x.passed)
    .map((x) => `${x.name}: ${x.problems.join('; ')}`)
    .join('\n');
