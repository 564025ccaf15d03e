// The CGNAT router as a kind of spec, for the loader: `kind: cgnat`.
import type { SpecKind } from '../../input/kind.ts';
import { CGNAT_EXAMPLES } from './fix-examples.ts';
import { CgnatSchema, type CgnatSpec } from './schema.ts';

export const cgnatKind: SpecKind<CgnatSpec> & { readonly kind: 'cgnat' } = {
  kind: 'cgnat',
  schema: CgnatSchema,
  fixExamples: CGNAT_EXAMPLES,
  // Host names of a CGNAT spec name interfaces: 15 characters at most.
  nameMax: 15,
  example: 'examples/cgnat-demo.yaml (kind: cgnat)',
  notThisKind: (file) => ({
    file,
    location: { line: 1, col: 1 },
    path: [],
    message: 'this is a cluster spec; the cgnat commands take a CGNAT spec',
    fix: 'add "kind: cgnat" to a CGNAT spec',
  }),
};
