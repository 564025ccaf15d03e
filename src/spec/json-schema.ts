// The JSON Schema (draft-07) of the spec, generated from the same zod schema that validates it.
import { z } from 'zod';
import { ClusterSchema } from './schema.ts';

export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ClusterSchema, { target: 'draft-07', io: 'input' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: 'https://convergent.invalid/schema/convergent.schema.json',
    title: 'convergent cluster spec',
  };
}
