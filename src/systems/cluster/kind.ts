// The cluster as a kind of spec, for the loader: the default kind (no `kind:` in the file).
import type { SpecKind } from '../../input/kind.ts';
import { CLUSTER_EXAMPLES } from './fix-examples.ts';
import { ClusterSchema, type ClusterSpec } from './schema.ts';

export const clusterKind: SpecKind<ClusterSpec> & { readonly kind: 'cluster' } = {
  kind: 'cluster',
  schema: ClusterSchema,
  fixExamples: CLUSTER_EXAMPLES,
  // Node, guest and network names: 31 characters at most.
  nameMax: 31,
  example: 'examples/part4-stateless.yaml (a cluster)',
  notThisKind: (file, other, source) => ({
    file,
    location: source.locate(['kind']),
    path: ['kind'],
    message: `this is a ${other === 'cgnat' ? 'CGNAT' : other} spec (kind: ${other}); this command takes a cluster spec`,
    fix: 'convergent check, render, cgnat, lab test and lab up take it; a CGNAT lab is not changed in place: lab down, then lab up the changed spec',
  }),
};
