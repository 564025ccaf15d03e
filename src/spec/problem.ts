// A problem in the user's spec: where it is, what is wrong, how to fix it.

/** A path into the spec, as in the YAML: ["guests", "guest1", "address"]. */
export type SpecPath = readonly (string | number)[];

export interface Problem {
  readonly path: SpecPath;
  /** Point at the key of the last path element rather than its value (e.g. a duplicate name). */
  readonly atKey?: boolean;
  readonly message: string;
  readonly fix?: string;
}

export interface Location {
  readonly line: number;
  readonly col: number;
}

export interface LocatedProblem extends Problem {
  readonly file: string;
  readonly location: Location;
}

/** "guests.guest1.address", "forwards[2].port": how a path is named in messages and comments. */
export function formatPath(path: SpecPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

export function formatProblem(p: LocatedProblem): string {
  const head = `${p.file}:${p.location.line}:${p.location.col}: error: ${p.message}`;
  return p.fix ? `${head}\n  fix: ${p.fix}` : head;
}

/** Thrown when a spec cannot be used; carries every problem found, in file order. */
export class SpecError extends Error {
  readonly problems: readonly LocatedProblem[];
  constructor(problems: readonly LocatedProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
    this.problems = problems;
  }
}
