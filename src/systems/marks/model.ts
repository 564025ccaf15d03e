// The marks of a resolved spec: the mask convergent's values are spread into, and whether it is the
// default (check stars it, as it stars allocated tags and tables).
import { DEFAULT_MARK_MASK, hexMark } from './bits.ts';
import type { MarksSpec } from './schema.ts';

export interface Marks {
  readonly mask: number;
  /** No `marks.mask` in the spec: the default. */
  readonly defaulted: boolean;
}

export const resolveMarks = (spec: MarksSpec | undefined): Marks => ({
  mask: spec?.mask ?? DEFAULT_MARK_MASK,
  defaulted: spec === undefined,
});

/** check's line: "marks: mask 0x000000ff* (* default: …)". */
export const describeMarks = (m: Marks): string =>
  `\nmarks: mask ${hexMark(m.mask)}${m.defaulted ? '*  (* default: pin with "marks: { mask: … }", declare other software\'s marks in marks.platform)' : ''}`;
