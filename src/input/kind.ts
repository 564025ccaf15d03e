// What the loader needs to know of a kind of spec, given by each system (systems/<kind>/kind.ts), so
// that reading a file knows no system: its schema, how to write each of its mappings and lists, how
// long its names may be, and what to say when a command that takes it is given another kind.
import type { ZodType } from 'zod';
import type { LocatedProblem } from './problem.ts';
import type { SourceMap } from './source.ts';

export interface SpecKind<Input = unknown> {
  /** The value of `kind:` in the file; one kind is the default, written without `kind:`. */
  readonly kind: string;
  readonly schema: ZodType<Input>;
  /** How to write each mapping or list, by where it is ("*" a name, "[]" a list item): a fix line. */
  readonly fixExamples: Readonly<Record<string, string>>;
  /** The longest name its mappings of names take (a rename offered for a duplicate fits it). */
  readonly nameMax: number;
  /** A bundled example to start from, as the fix for a file that is no mapping names it. */
  readonly example: string;
  /** The problem when a command that takes only this kind is given a spec of `other` kind. */
  notThisKind(file: string, other: string, source: SourceMap): LocatedProblem;
}

/** The kinds a loader reads: the first is the default, for a file without `kind:`. */
export type SpecKinds = readonly [SpecKind, ...SpecKind[]];
