// Finding one's way in a zod schema by a path of the spec ("networks", "guestnet", "pipes", 0): the
// schema that governs a value, whether a mapping holds names or fields, a number's range. zod keeps
// this in its definitions (_zod.def); this is the one place that reads them.
import type { z } from 'zod';
import type { SpecPath } from './problem.ts';

type Def = Record<string, unknown> & { type: string };
export interface Schema {
  readonly _zod: { readonly def: Def };
  readonly description?: string;
  safeParse(v: unknown): { success: boolean; error?: { issues: z.core.$ZodIssue[] } };
}

export function valueAt(data: unknown, path: SpecPath): unknown {
  let value = data;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}

/** The schema at a path, and the path's pattern for EXAMPLES ("networks.*.pipes[]"). */
export function walk(root: unknown, path: SpecPath): { schema: Schema | undefined; pattern: string } {
  let schema: Schema | undefined = unwrap(root as Schema);
  let pattern = '';
  for (const part of path) {
    if (!schema) break;
    const def = schema._zod.def;
    let next: unknown;
    if (def.type === 'object') {
      next = shapeOf(schema)[String(part)];
      pattern += pattern ? `.${String(part)}` : String(part);
    } else if (def.type === 'record') {
      next = def.valueType;
      pattern += pattern ? '.*' : '*';
    } else if (def.type === 'array') {
      next = def.element;
      pattern += '[]';
    }
    schema = next ? unwrap(next as Schema) : undefined;
  }
  return { schema, pattern };
}

export const typeOf = (schema: Schema) => schema._zod.def.type;
export const shapeOf = (schema: Schema) => schema._zod.def.shape as Record<string, unknown>;

/** Whether the mapping at `path` is one of names (nodes, guests, …) rather than of fields. */
export function namesAt(root: unknown, path: SpecPath): boolean {
  const { schema } = walk(root, path);
  return schema !== undefined && typeOf(schema) === 'record';
}

/** [min, max] of a number schema's checks. */
export function rangeOf(schema: Schema): [number, number] | undefined {
  let min: number | undefined;
  let max: number | undefined;
  for (const check of (schema._zod.def.checks ?? []) as { _zod: { def: Record<string, unknown> } }[]) {
    const d = check._zod.def;
    if (d.check === 'greater_than') min = Number(d.value);
    if (d.check === 'less_than') max = Number(d.value);
  }
  return min !== undefined && max !== undefined ? [min, max] : undefined;
}

export function unwrap(schema: Schema): Schema {
  let s = schema;
  while (s._zod.def.innerType && ['default', 'optional', 'nullable', 'prefault'].includes(s._zod.def.type)) {
    s = s._zod.def.innerType as Schema;
  }
  return s;
}
