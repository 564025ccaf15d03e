// Mark statements that keep other software's bits (F36): convergent reads a mark under its mask and
// writes it as `mark & ~mask | value`. nft 1.0.6 cannot combine two registers ("Right hand side of
// binary operation (|) must be constant", on kernel 6.1 and 6.18 alike), so a mark copied from
// another mark goes bit by bit: a rule per bit and value, the same number whatever the cluster's size.
import { type Expr, type Field, konst, mark, type Statement } from '../../nft/tree.ts';
import { maskBits } from './bits.ts';

/** field & mask: the bits of a mark that are convergent's. */
export const masked = (field: Field, mask: number): Expr => ({
  kind: 'mask',
  value: field,
  mask: mark(mask),
});

/** field set field & ~mask | value: convergent's bits become `value`, the others stay. */
export const setMasked = (field: Field, mask: number, value: number): Statement => ({
  kind: 'set-field',
  field,
  value: { kind: 'mask', value: field, mask: mark(~mask >>> 0), or: mark(value) },
});

/** field set field & ~mask: convergent's bits cleared, the others kept. */
export const clearMasked = (field: Field, mask: number): Statement => ({
  kind: 'set-field',
  field,
  value: { kind: 'mask', value: field, mask: mark(~mask >>> 0) },
});

const bitIs = (field: Field, bit: number, set: boolean): Statement => ({
  kind: 'match',
  left: masked(field, bit),
  op: set ? 'ne' : 'eq',
  right: konst(mark(0)),
});

/**
 * Rules that make `to`'s bits under `mask` those of `from`, two per bit: a bit is written only where
 * it differs, so a flow whose mark is right already is never written (no moment in which a reply on
 * another CPU could see its bits cleared).
 */
export function copyMaskedRules(
  from: Field,
  to: Field,
  mask: number,
): { statements: Statement[]; bit: number }[] {
  return maskBits(mask).flatMap((bit) => [
    { bit, statements: [bitIs(from, bit, true), bitIs(to, bit, false), setMasked(to, bit, bit)] },
    { bit, statements: [bitIs(from, bit, false), bitIs(to, bit, true), clearMasked(to, bit)] },
  ]);
}
