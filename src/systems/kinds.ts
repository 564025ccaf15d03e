// The kinds of spec the loader reads, one per system (the registry has a system for each): the
// first is the default, for a file without `kind:`.
import type { SpecKind, SpecKinds } from '../input/kind.ts';
import { type LoadedSpec, parseSpec, parseSpecOf } from '../input/load.ts';
import { readSpecText } from '../input/text.ts';
import { cgnatKind } from './cgnat/kind.ts';
import { clusterKind } from './cluster/kind.ts';

export const KINDS = [clusterKind, cgnatKind] as const satisfies SpecKinds;
export type KindName = (typeof KINDS)[number]['kind'];

/** A spec file of any kind, schema-checked. */
export const loadSpecFile = (file: string): LoadedSpec => parseSpec(readSpecText(file), file, KINDS);

/** A spec file of one kind, schema-checked: another kind is that kind's located problem. */
export const loadSpecFileOf = <Input>(file: string, kind: SpecKind<Input>): LoadedSpec<Input> =>
  parseSpecTextOf(readSpecText(file), file, kind);

/** The same for a spec's text (tests and benchmarks feed text). */
export const parseSpecTextOf = <Input>(
  text: string,
  file: string,
  kind: SpecKind<Input>,
): LoadedSpec<Input> => parseSpecOf(text, file, KINDS, kind);
