// Loads a cluster spec: YAML text -> plain data -> schema-checked ClusterSpec, every problem located.
import { type Document, isMap, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { CgnatSchema, type CgnatSpec } from './cgnat/schema.ts';
import { type LocatedProblem, type Problem, SpecError, type SpecPath } from './problem.ts';
import { ClusterSchema, type ClusterSpec } from './schema.ts';
import { SourceMap } from './source.ts';
import { readSpecText } from './text.ts';

export interface LoadedSpec {
  readonly file: string;
  readonly spec: ClusterSpec;
  readonly source: SourceMap;
}

export const readSpecFile = (file: string): LoadedSpec => parseSpec(readSpecText(file), file);

/** Reads a spec of either kind. */
export const readAnySpecFile = (file: string): AnyLoadedSpec => parseAnySpec(readSpecText(file), file);

/** Parses and schema-checks a cluster spec. Throws SpecError listing every problem. */
export function parseSpec(text: string, file: string): LoadedSpec {
  const loaded = parseAnySpec(text, file);
  if (loaded.kind !== 'cluster')
    throw new SpecError([
      {
        file,
        location: loaded.source.locate(['kind']),
        path: ['kind'],
        message: 'this is a CGNAT spec (kind: cgnat); this command takes a cluster spec',
        fix: 'convergent check, render, cgnat, lab test and lab up take it; a CGNAT lab is not changed in place: lab down, then lab up the changed spec',
      },
    ]);
  return loaded;
}

export type AnyLoadedSpec =
  | (LoadedSpec & { readonly kind: 'cluster' })
  | { readonly kind: 'cgnat'; readonly file: string; readonly spec: CgnatSpec; readonly source: SourceMap };

/** Parses a spec of either kind (`kind: cgnat`, or a cluster) and schema-checks it. */
export function parseAnySpec(text: string, file: string): AnyLoadedSpec {
  const lines = new LineCounter();
  // yaml's own uniqueKeys check compares every key with every other: quadratic for 20,000 guests.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const source = new SourceMap(doc, lines);
  const syntax: LocatedProblem[] = doc.errors.map((e) => ({
    file,
    location: source.locateOffset(e.pos[0]),
    path: [],
    message: `YAML syntax: ${e.message.split('\n')[0]}`,
  }));
  for (const offset of duplicateKeys(doc)) {
    const key = /^[^\s:{},[\]]+/.exec(text.slice(offset))?.[0] ?? 'this key';
    syntax.push({
      file,
      location: source.locateOffset(offset),
      path: [],
      message: `"${key}" appears twice in the same mapping`,
      fix: 'every name and field appears once; rename or merge the two',
    });
  }
  if (syntax.length > 0) throw new SpecError(syntax);
  const data: unknown = doc.toJS() ?? {};
  const cgnat = (data as { kind?: unknown }).kind === 'cgnat';
  const schema = cgnat ? CgnatSchema : ClusterSchema;
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => schemaProblems(schema, issue, data));
    throw new SpecError(locateAll(problems, source, file));
  }
  return cgnat
    ? { kind: 'cgnat', file, spec: parsed.data as CgnatSpec, source }
    : { kind: 'cluster', file, spec: parsed.data as ClusterSpec, source };
}

export function locateAll(problems: readonly Problem[], source: SourceMap, file: string): LocatedProblem[] {
  const located = problems.map((p) => ({ ...p, file, location: source.locate(p.path, p.atKey) }));
  return located.sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col);
}

/** Offsets of keys that repeat an earlier key of the same mapping. */
function duplicateKeys(doc: Document): number[] {
  const found: number[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) found.push(pair.key.range?.[0] ?? 0);
        else seen.add(key);
      }
    },
  });
  return found;
}

type Issue = z.core.$ZodIssue;

function schemaProblems(schema: unknown, issue: Issue, data: unknown): Problem[] {
  const path = issue.path as SpecPath;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = fieldsAt(schema, path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        atKey: true,
        message: `unknown field "${key}"${path.length ? ` in ${describePath(path)}` : ''}`,
        fix: known.length ? `the fields allowed here are: ${known.join(', ')}` : 'remove it',
      }));
    }
    case 'invalid_type': {
      if (valueAt(data, path) === undefined) {
        const field = path[path.length - 1];
        return [
          {
            path: path.slice(0, -1),
            message: `missing required field "${String(field)}"${path.length > 1 ? ` in ${describePath(path.slice(0, -1))}` : ''}`,
            fix: `add "${String(field)}:" here`,
          },
        ];
      }
      return [{ path, message: issue.message }];
    }
    case 'invalid_key':
      return [{ path, atKey: true, message: issue.issues[0]?.message ?? issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

function describePath(path: SpecPath): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
}

function valueAt(data: unknown, path: SpecPath): unknown {
  let value = data;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}

/** The field names the schema allows at an object path, for "unknown field" hints. */
function fieldsAt(root: unknown, path: SpecPath): string[] {
  let schema = root;
  for (const part of path) {
    schema = unwrap(schema);
    const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') schema = (def.shape as Record<string, unknown>)[String(part)];
    else if (def.type === 'record') schema = def.valueType;
    else if (def.type === 'array') schema = def.element;
    else return [];
    if (!schema) return [];
  }
  const def = (unwrap(schema) as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === 'object' ? Object.keys(def.shape as object) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { _zod: { def: { type: string; innerType?: unknown } } };
  while (s._zod.def.innerType && ['default', 'optional', 'nullable', 'prefault'].includes(s._zod.def.type)) {
    s = s._zod.def.innerType as typeof s;
  }
  return s;
}
