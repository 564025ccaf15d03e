// The JSON Schema (draft-07) of the spec, generated from the same zod schema that validates it.
import { z } from 'zod';
import { CgnatSchema } from './cgnat/schema.ts';
import { ClusterSchema } from './cluster/schema.ts';

export function specJsonSchema(): Record<string, unknown> {
  // A file is a cluster spec, or a CGNAT spec with "kind: cgnat".
  const schema = z.toJSONSchema(z.union([ClusterSchema, CgnatSchema]), {
    target: 'draft-07',
    io: 'input',
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://convergent.invalid/schema/convergent.schema.json',
    title: 'convergent spec (a cluster, or a CGNAT router with kind: cgnat)',
  };
}
