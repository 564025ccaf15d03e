// Loads a spec: YAML text -> plain data -> what its kind's schema checked, every problem located.
// The kinds come from the systems (systems/kinds.ts); this module knows none of them.
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import { plural } from '../util/plural.ts';
import { issueProblems } from './issues.ts';
import type { SpecKind, SpecKinds } from './kind.ts';
import { type LocatedProblem, type Problem, SpecError, type SpecPath } from './problem.ts';
import { namesAt } from './schema-walk.ts';
import { SourceMap } from './source.ts';

/** A spec file read and schema-checked: its kind, what the kind's schema gave, where each value is. */
export interface LoadedSpec<Input = unknown> {
  readonly kind: string;
  readonly file: string;
  readonly spec: Input;
  readonly source: SourceMap;
}

/** A spec of `kind` only: one of another kind is the problem that kind says. */
export function parseSpecOf<Input>(text: string, file: string, kinds: SpecKinds, kind: SpecKind<Input>) {
  const loaded = parseSpec(text, file, kinds);
  if (loaded.kind !== kind.kind) throw new SpecError([kind.notThisKind(file, loaded.kind, loaded.source)]);
  return loaded as LoadedSpec<Input>;
}

/** Parses a spec text of any of `kinds` (by its `kind:`, the first when there is none) and schema-checks it. */
export function parseSpec(text: string, file: string, kinds: SpecKinds): LoadedSpec {
  const lines = new LineCounter();
  // yaml's own uniqueKeys check compares every key with every other: quadratic for 20,000 guests.
  const doc = withPlainEnv(() =>
    parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false }),
  );
  const source = new SourceMap(doc, lines);
  const kind = kindOf(doc.get('kind'), kinds);
  const syntax = syntaxProblems(doc, source, file);
  for (const d of duplicateKeys(doc))
    syntax.push({ ...duplicateProblem(kind ?? kinds[0], d), file, location: source.locateOffset(d.offset) });
  if (syntax.length > 0) throw new SpecError(syntax);
  if (kind === undefined) throw new SpecError([unknownKind(doc.get('kind'), kinds, source, file)]);
  const data: unknown = doc.toJS();
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data))
    throw new SpecError([
      {
        file,
        location: source.locate([]),
        path: [],
        message:
          data === null || data === undefined
            ? 'the spec is empty'
            : `the spec must be a mapping of fields (name: …, uplink: …, nodes: …), not ${Array.isArray(data) ? 'a list' : 'a single value'}`,
        fix: `start from an example: ${kinds.map((k) => k.example).join(' or ')}`,
      },
    ]);
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      issueProblems(kind.schema, issue, data, kind.fixExamples),
    );
    throw new SpecError(locateAll(problems, source, file));
  }
  return { kind: kind.kind, file, spec: parsed.data, source };
}

/**
 * Runs `parse` with process.env as a plain copy. yaml's parser reads process.env.LOG_TOKENS for every
 * token, and each read of the real process.env is a call into node (0.3 µs): 440,000 tokens, 0.1 s
 * of a 10,000-guest spec. parse is synchronous: nothing else sees the copy.
 */
function withPlainEnv<T>(parse: () => T): T {
  const env = process.env;
  process.env = { ...env };
  try {
    return parse();
  } finally {
    process.env = env;
  }
}

/** YAML syntax errors, located; eleven are shown as they are, twelve or more as ten and a count. */
function syntaxProblems(doc: Document, source: SourceMap, file: string): LocatedProblem[] {
  const shown = doc.errors.length > MAX_SYNTAX + 1 ? MAX_SYNTAX : doc.errors.length;
  const syntax: LocatedProblem[] = doc.errors.slice(0, shown).map((e) => ({
    file,
    location: source.locateOffset(e.pos[0]),
    path: [],
    message: `YAML syntax: ${e.message.split('\n')[0]}`,
    fix: SYNTAX_BY_MESSAGE.find(([m]) => m.test(e.message))?.[1] ?? SYNTAX_FIXES[e.code] ?? SYNTAX_FIX,
  }));
  const more = doc.errors[shown];
  if (more)
    syntax.push({
      file,
      location: source.locateOffset(more.pos[0]),
      path: [],
      message: `${plural(doc.errors.length - shown, 'more YAML syntax error')} from here on`,
      fix: 'fix the ones above first: later errors often follow from them (or is this file a spec at all?)',
    });
  return syntax;
}

function kindOf(value: unknown, kinds: SpecKinds): SpecKind | undefined {
  if (value === undefined) return kinds[0];
  return kinds.find((k) => k.kind === value);
}

/** A kind no system has: located at its value, with the kinds there are. */
function unknownKind(value: unknown, kinds: SpecKinds, source: SourceMap, file: string): LocatedProblem {
  const names = kinds.map((k, i) => (i === 0 ? `${k.kind} (the default)` : k.kind));
  return {
    file,
    location: source.locate(['kind']),
    path: ['kind'],
    message: `kind is ${JSON.stringify(value)}; the kinds of spec are: ${names.join(', ')}`,
    fix: `write one of them, or leave "kind" out for a ${kinds[0].kind}`,
  };
}

export function locateAll(problems: readonly Problem[], source: SourceMap, file: string): LocatedProblem[] {
  const located = problems.map((p) => ({ ...p, file, location: source.locate(p.path, p.atKey) }));
  return located.sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col);
}

interface DuplicateKey {
  readonly key: string;
  readonly offset: number;
  /** Where the mapping is in the spec, and the keys it already has. */
  readonly path: SpecPath;
  readonly keys: ReadonlySet<string>;
}

/** Keys that repeat an earlier key of the same mapping. */
function duplicateKeys(doc: Document): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  visit(doc, {
    Map(_, map, ancestors) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (!seen.has(key)) seen.add(key);
        else
          found.push({
            key,
            offset: pair.key.range?.[0] ?? 0,
            path: specPath([...ancestors, map]),
            keys: seen,
          });
      }
    },
  });
  return found;
}

/** The spec path of the last node of a chain of YAML ancestors: ["guests", "guest1"]. */
function specPath(chain: readonly unknown[]): SpecPath {
  const path: (string | number)[] = [];
  chain.forEach((node, i) => {
    if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value));
    else if (isSeq(node)) path.push(node.items.indexOf(chain[i + 1] as never));
  });
  return path;
}

/** A repeated name gets a free one to rename it to; a repeated field is one too many. */
function duplicateProblem(kind: SpecKind, d: DuplicateKey): Problem {
  const base = { path: [...d.path, d.key] };
  if (!namesAt(kind.schema, d.path))
    return {
      ...base,
      message: `field "${d.key}" appears twice in the same mapping`,
      fix: 'every field appears once: remove one of the two',
    };
  const max = kind.nameMax;
  let name = '';
  for (let n = 2; name === '' || d.keys.has(name); n++)
    name = `${d.key.slice(0, max - 1 - String(n).length)}-${n}`;
  return {
    ...base,
    message: `"${d.key}" appears twice in the same mapping`,
    fix: `every name appears once: rename this one, e.g. to ${name}, or merge the two`,
  };
}

const SYNTAX_FIX =
  'indent with spaces, one level per nesting; quote a value that holds ": ", " #", or starts with [ { * & ! | > % @';

/** The first errors of a file that is no YAML are the ones that say so; the rest follow from them. */
const MAX_SYNTAX = 10;

/** Fixes for messages that share a code with others of another cause. */
const SYNTAX_BY_MESSAGE: readonly (readonly [RegExp, string])[] = [
  [
    /end with an? [\]}]/,
    'close the [ or { opened before here, and indent its continuation lines deeper than its key',
  ],
  [/followed by map values/, 'follow the key with ": " and its value; a line of plain text is no YAML'],
  [/Missing closing .?quote/, 'close the quote opened here on the same value, or escape a quote inside it'],
  [
    /Nested mappings are not allowed in compact mappings/,
    'put the nested mapping on lines of its own, or write it in braces: key: { a: 1 }',
  ],
];

/** yaml's error codes, in what to do about them. */
const SYNTAX_FIXES: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  BAD_INDENT: 'line the items of one mapping or list up at the same column, with spaces',
  MISSING_CHAR: 'close the bracket or quote that is open here: { … }, [ … ], "…"',
  BAD_DQ_ESCAPE: 'in double quotes, write a backslash as \\\\; or use single quotes',
  MULTILINE_IMPLICIT_KEY: 'a key fits on one line: end it with ": " on the line it starts',
  BLOCK_AS_IMPLICIT_KEY: 'a key fits on one line: end it with ": " on the line it starts',
  BAD_SCALAR_START: 'quote the value: it starts with a character YAML reserves',
  DUPLICATE_KEY: 'every name and field appears once; rename or merge the two',
  MULTIPLE_DOCS: 'a spec is one YAML document: remove the "---" or split the file',
  UNEXPECTED_TOKEN: 'check the punctuation here: a stray ":", "-", "," or bracket',
};
