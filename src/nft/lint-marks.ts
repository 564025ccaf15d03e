// Marks that coexist (F36): a rule may read a packet or connection mark only under a mask, and write
// one only as `mark & keep | value` of itself, so other software's bits (kube-proxy's 0x4000,
// Neutron's 0xffff0000) pass through convergent's rules untouched. `meta mark set 0x1` or
// `ct mark set meta mark` would clobber them.
import type { Expr, Field, Rule, Statement } from './tree.ts';

const isMark = (e: Expr): e is Field => (e.kind === 'meta' || e.kind === 'ct') && e.key === 'mark';

/** Why the statement handles a mark unmasked, or undefined. */
export function unmaskedMark(s: Statement): string | undefined {
  if (s.kind === 'set-field' && isMark(s.field)) {
    const v = s.value;
    const keeps = v.kind === 'mask' && isMark(v.value) && v.value.kind === s.field.kind;
    if (!keeps) return `sets ${s.field.kind} mark without keeping the bits outside its mask`;
    return undefined;
  }
  const exprs = ((): Expr[] => {
    switch (s.kind) {
      case 'match':
        return [s.left, s.right];
      case 'match-set':
        return [s.left];
      case 'set-field':
        return [s.value];
      case 'nat':
      case 'dup':
        return [s.to];
      case 'count-over':
        return [s.key];
      case 'update':
        return s.value ? [s.key, s.value] : [s.key];
      case 'vmap':
        return [s.key];
      case 'goto':
      case 'jump':
      case 'counter':
      case 'notrack':
      case 'verdict':
        return [];
    }
  })();
  return exprs.some(readsUnmasked) ? 'reads a mark without its mask' : undefined;
}

function readsUnmasked(e: Expr): boolean {
  switch (e.kind) {
    case 'mask':
      return !isMark(e.value) && readsUnmasked(e.value);
    case 'concat':
      return e.parts.some(readsUnmasked);
    case 'lookup':
      return readsUnmasked(e.key);
    case 'meta':
    case 'ct':
      return isMark(e);
    case 'ct-tuple':
    case 'fib':
    case 'payload':
    case 'const':
    case 'anonymous-set':
      return false;
  }
}

/** The first statement of the rule handling a mark unmasked, as a lint finding. */
export function ruleMarkFinding(rule: Rule): string | undefined {
  for (const s of rule.statements) {
    const why = unmaskedMark(s);
    if (why) return why;
  }
  return undefined;
}
