// The JSON Schema (draft-07) of the spec, generated from the same zod schemas that validate it.
import { z } from 'zod';
import { specSchemas } from './registry.ts';

export function specJsonSchema(): Record<string, unknown> {
  // A file is a spec of one of the registry's kinds: a cluster, or a CGNAT spec with "kind: cgnat".
  const schema = z.toJSONSchema(z.union(specSchemas()), {
    target: 'draft-07',
    io: 'input',
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://convergent.invalid/schema/convergent.schema.json',
    title: 'convergent spec (a cluster, or a CGNAT router with kind: cgnat)',
  };
}
