// check's refusals for `marks:`: a mask without bits, a mask overlapping a declared platform's mark,
// and a mask with fewer bits than the values it must carry (node tags, tenant indexes).
import type { SpecPath } from '../../input/problem.ts';
import { bitLength, freeMask, hexMark, maskBits } from './bits.ts';
import type { MarksSpec } from './schema.ts';

type Report = (path: SpecPath, message: string, fix?: string, atKey?: boolean) => void;

/** What the marks must carry: the largest value, what it is, and where the spec gives it. */
export interface MarkNeed {
  readonly largest: number;
  readonly what: string;
  readonly path: SpecPath;
}

/** `written`: whether the spec has `marks:` (a problem of the default mask points at the need). */
export function checkMarks(
  marks: MarksSpec,
  written: boolean,
  need: MarkNeed | undefined,
  report: Report,
): void {
  const maskPath: SpecPath = ['marks', 'mask'];
  const taken = marks.platform.reduce((m, p) => (m | (p.mask ?? 0xffffffff)) >>> 0, 0);
  // A suggestion leaves room to grow: a whole octet at least (a cluster's tags go up to 255).
  const bits = Math.max(bitLength(need?.largest ?? 0), 8);
  const free = freeMask(bits, taken);
  const better = free === undefined ? undefined : `marks: { mask: ${hexMark(free)} }`;
  if (marks.mask === 0) {
    report(maskPath, 'marks.mask 0x00000000 leaves convergent no bit', better ?? 'give it at least one bit');
    return;
  }
  marks.platform.forEach((p, i) => {
    const owned = (p.mask ?? 0xffffffff) >>> 0;
    const overlap = (owned & marks.mask) >>> 0;
    if (overlap === 0) return;
    report(
      ['marks', 'platform', i],
      `marks.mask ${hexMark(marks.mask)} overlaps ${p.name}'s mark ${hexMark(p.mark)}/${hexMark(owned)} in bits ${hexMark(overlap)}: ` +
        "each would rewrite the other's bits there",
      better
        ? `${better} (${bits} bits no declared platform owns)`
        : 'the declared platforms own every bit: give them their real masks, or use interface rules instead of marks on this host',
    );
  });
  if (need === undefined) return;
  const have = maskBits(marks.mask).length;
  if (bitLength(need.largest) <= have) return;
  report(
    written ? maskPath : need.path,
    `${need.what} ${need.largest} needs ${bitLength(need.largest)} bits of the mark, and marks.mask ${hexMark(marks.mask)} has ${have}`,
    better ? `widen the mask: ${better}` : 'widen marks.mask, or carry fewer values',
  );
}
