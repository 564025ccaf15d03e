// Mark statements that keep other software's bits (F36): convergent reads a mark under its mask and
// writes it as `mark & ~mask | value`. nft 1.0.6 cannot combine two registers ("Right hand side of
// binary operation (|) must be constant", on kernel 6.1 and 6.18 alike), so a mark copied from
// another mark goes through a verdict map to a chain per value that writes that constant.
import { type Expr, type Field, mark, type Statement } from '../../nft/tree.ts';

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
