// zod's issues in the words of the spec: what the field must be, what it is instead, and a fix
// that shows the form (an example, the nearest allowed name, the prefix with its host bits cleared).
// No zod text ("Invalid input: expected object, received array") reaches the user.
import type { z } from 'zod';
import { formatCidr, networkOf, parseCidr } from '../util/ip.ts';
import { plural } from '../util/plural.ts';
import { formatPath, type Problem, type SpecPath } from './problem.ts';
import { rangeOf, type Schema, shapeOf, typeOf, unwrap, valueAt, walk } from './schema-walk.ts';
import { nameLike, nearest } from './suggest.ts';

type Issue = z.core.$ZodIssue;

const LEAF_EXAMPLES: Readonly<Record<string, string>> = {
  name: 'name: cluster1',
  stp: 'stp: true',
  forwardDelay: 'forwardDelay: 4',
  tag: 'tag: 1',
};

/** The problems one zod issue stands for, each with a fix; `examples` are the kind's (SpecKind.fixExamples). */
export function issueProblems(
  root: unknown,
  issue: Issue,
  data: unknown,
  examples: Readonly<Record<string, string>>,
): Problem[] {
  const path = issue.path as SpecPath;
  const walked = walk(root, path);
  const at = { ...walked, examples };
  const site: Site = {
    path,
    at,
    value: valueAt(data, path),
    subject: path.length ? formatPath(path) : 'the spec',
    field: String(path.findLast((p) => typeof p === 'string') ?? ''),
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownFields(site, issue);
    case 'invalid_type':
    case 'invalid_union':
      return wrongType(site, issue);
    case 'too_small':
    case 'too_big':
      return outOfRange(site, issue);
    case 'invalid_value':
      return notOneOf(site, issue);
    case 'invalid_format':
    case 'custom':
      return badForm(site, issue);
    case 'invalid_key':
      return badName(site, issue);
    default:
      return otherIssue(site, issue);
  }
}

/** Where an issue is: its path, the schema and pattern there, the value written, and their words. */
interface Site {
  readonly path: SpecPath;
  readonly at: {
    readonly schema: Schema | undefined;
    readonly pattern: string;
    /** The system's examples of each mapping and list, by pattern. */
    readonly examples: Readonly<Record<string, string>>;
  };
  readonly value: unknown;
  /** "nodes.node1.address", or "the spec". */
  readonly subject: string;
  /** The last field name on the path. */
  readonly field: string;
}

/** Fields the schema does not know: the nearest one allowed, and the list. */
function unknownFields(site: Site, issue: Extract<Issue, { code: 'unrecognized_keys' }>): Problem[] {
  const { path, at, value, subject } = site;
  const known = at.schema && typeOf(at.schema) === 'object' ? Object.keys(shapeOf(at.schema)) : [];
  // The field meant is one not written yet; of two as near, the one that is required.
  const absent = known.filter((k) => !(value && typeof value === 'object' && k in value));
  const shape = at.schema ? shapeOf(at.schema) : {};
  const required = (k: string) =>
    !['optional', 'default', 'prefault'].includes((shape[k] as Schema)._zod.def.type);
  const candidates = [...absent.filter(required), ...absent.filter((k) => !required(k))];
  return issue.keys.map((key) => {
    const near = nearest(key, candidates);
    return {
      path: [...path, key],
      atKey: true,
      message: `unknown field "${key}"${path.length ? ` in ${subject}` : ''}`,
      fix: known.length
        ? `${near ? `did you mean "${near}"? ` : ''}the fields allowed here are: ${known.join(', ')}`
        : 'remove it',
    };
  });
}

/** A value of the wrong type, or missing (a type error of undefined): what it must be, with an example. */
function wrongType(site: Site, issue: Extract<Issue, { code: 'invalid_type' | 'invalid_union' }>): Problem[] {
  const { path, at, value, subject, field } = site;
  if (value === undefined) {
    const missing = String(path[path.length - 1]);
    const example = at.schema ? exampleOf(at.schema, at.pattern, missing, at.examples) : undefined;
    return [
      {
        path: path.slice(0, -1),
        message: `missing required field "${missing}"${path.length > 1 ? ` in ${formatPath(path.slice(0, -1))}` : ''}`,
        fix: `add "${missing}:" here${example ? `, e.g. ${example}` : ''}`,
      },
    ];
  }
  if (issue.code === 'invalid_union')
    return [
      unionProblem(
        path,
        subject,
        value,
        issue,
        at.schema,
        at.schema && exampleOf(at.schema, at.pattern, field, at.examples),
      ),
    ];
  const expected = at.schema ? expectedWords(at.schema, issue.message, field, at.pattern) : 'something else';
  const example = at.schema ? exampleOf(at.schema, at.pattern, field, at.examples) : undefined;
  return [
    {
      path,
      message: `${subject} must be ${expected}, not ${received(value)}`,
      fix: example ? `write it as ${example}` : `write ${expected}`,
    },
  ];
}

/** Too few or too many items, characters, or too small or large a number. */
function outOfRange(site: Site, issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): Problem[] {
  const { path, at, value, subject, field } = site;
  const small = issue.code === 'too_small';
  const bound = Number(
    small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum,
  );
  if (issue.origin === 'array' || issue.origin === 'set') {
    const example = at.schema ? exampleOf(at.schema, at.pattern, field, at.examples) : undefined;
    return [
      {
        path,
        message:
          own(issue.message) ??
          `${subject} lists ${count(value)}; it takes ${small ? 'at least' : 'at most'} ${bound}`,
        fix: example ? `write it as ${example}` : small ? `list at least ${bound}` : `list at most ${bound}`,
      },
    ];
  }
  if (issue.origin === 'string') {
    const length = typeof value === 'string' ? value.length : 0;
    return [
      {
        path,
        message: own(issue.message) ?? (length === 0 ? `${subject} is empty` : `${subject} is too long`),
        fix: small
          ? `write at least ${plural(bound, 'character')}`
          : `shorten "${String(value)}" (${length} characters) to at most ${bound}`,
      },
    ];
  }
  const range = at.schema ? rangeOf(at.schema) : undefined;
  return [
    {
      path,
      message: `${own(issue.message) ?? `${subject} is ${small ? 'too small' : 'too large'}`}, not ${String(value)}`,
      fix: range
        ? `use a whole number from ${range[0]} to ${range[1]}`
        : `use ${small ? 'at least' : 'at most'} ${bound}`,
    },
  ];
}

/** A word not among the allowed ones (an unknown `kind` is refused by the loader, before any schema). */
function notOneOf(site: Site, issue: Extract<Issue, { code: 'invalid_value' }>): Problem[] {
  const { path, value, subject, field } = site;
  const values = issue.values.map(String);
  const near = typeof value === 'string' ? nearest(value, values) : undefined;
  return [
    {
      path,
      message: `${subject} is ${received(value)}; it is one of: ${values.join(', ')}`,
      fix: near ? `write ${field}: ${near}` : `write one of: ${values.join(', ')}`,
    },
  ];
}

/** A value the schema checks by pattern or by parsing. */
function badForm(site: Site, issue: Extract<Issue, { code: 'invalid_format' | 'custom' }>): Problem[] {
  const { path, value, subject } = site;
  return [formatProblem(path, subject, value, issue)];
}

/** A name (a mapping key) of the wrong form. */
function badName(site: Site, issue: Extract<Issue, { code: 'invalid_key' }>): Problem[] {
  const { path } = site;
  const inner = issue.issues[0];
  const key = String(path[path.length - 1]);
  return [
    {
      path,
      atKey: true,
      message: own(inner?.message ?? '') ?? `"${key}" is not allowed as a name here`,
      fix: `rename "${key}", e.g. to ${nameLike(key)}`,
    },
  ];
}

/** Any other issue: its own message, if it has one. */
function otherIssue(site: Site, issue: Issue): Problem[] {
  const { path, subject } = site;
  return [
    {
      path,
      message: own(issue.message) ?? `${subject} is not valid here`,
      fix: 'see the examples in examples/',
    },
  ];
}

/** One of several forms (a host or a list of hosts, "nat" or an address): each named, the first as the fix. */
function unionProblem(
  path: SpecPath,
  subject: string,
  value: unknown,
  issue: Issue & { errors: Issue[][] },
  union: Schema | undefined,
  example: string | undefined,
): Problem {
  const options = (union?._zod.def.options ?? []) as Schema[];
  const branches = options.map((option, i) =>
    expectedWords(unwrap(option), issue.errors[i]?.[0]?.message ?? '', '', ''),
  );
  const words = branches.length ? branches.join(', or ') : 'another kind of value';
  return {
    path,
    message: `${subject} must be ${words}; not ${received(value)}`,
    fix: example ? `write it as ${example}` : `write ${branches[0] ?? words}`,
  };
}

/** A value the schema checks by pattern or by parsing (names, addresses, prefixes, MACs). */
function formatProblem(path: SpecPath, subject: string, value: unknown, issue: Issue): Problem {
  const message = own(issue.message) ?? `${subject} has the wrong form`;
  const text = String(value);
  // "expected an IPv4 address such as 192.168.122.11": say what it got, and write what it wants.
  const m = /^expected (.+?)(?:,? (?:such as|e\.g\.) (\S+))?$/.exec(message);
  if (m) {
    const [, what, example] = m as unknown as [string, string, string | undefined];
    const cleared = clearHostBits(text);
    return {
      path,
      message: `${subject} is "${text}", not ${what}`,
      fix: cleared
        ? `write ${cleared} (the network of ${text})`
        : `write ${what}${example ? ` such as ${example}` : ''}`,
    };
  }
  // A value of the pattern's form, close to what was written: "Node_1" -> node-1, "eth1:100" -> eth1-100.
  const pattern =
    'pattern' in issue && typeof issue.pattern === 'string' ? toRegExp(issue.pattern) : undefined;
  const close =
    pattern && [nameLike(text), text.replace(/[^A-Za-z0-9_.@-]+/g, '-')].find((c) => pattern.test(c));
  const naming = /names start with/.test(message);
  const example = /(?:such as|e\.g\.) (\S+)$/.exec(message)?.[1];
  return {
    path,
    message: `"${text}": ${message}`,
    fix: close
      ? naming
        ? `rename it, e.g. to ${close}`
        : `write it as ${close}`
      : example
        ? `write it like ${example}`
        : `write a value of that form instead of "${text}"`,
  };
}

/** A schema's own message, or undefined for zod's generic text. */
function own(message: string): string | undefined {
  return message === '' || /^(Invalid|Too (small|big)|Unrecognized|Expected)\b/.test(message)
    ? undefined
    : message;
}

/** The schema's own "expected …" words: from its type error, or else from its pattern's. */
function ownHint(schema: Schema): string | undefined {
  for (const probe of [Symbol(), '\u0000']) {
    const hint = own(schema.safeParse(probe).error?.issues[0]?.message ?? '');
    if (hint?.startsWith('expected ')) return hint;
  }
  return undefined;
}

/** "a mapping of fields", "a list", or the schema's own "expected …" words. */
function expectedWords(schema: Schema, message: string, field: string, pattern: string): string {
  const mine = own(message);
  if (mine?.startsWith('expected ')) return mine.slice('expected '.length);
  const hint = ownHint(schema);
  if (hint) return hint.slice('expected '.length);
  switch (typeOf(schema)) {
    case 'object':
      return `a mapping of fields (${Object.keys(shapeOf(schema)).slice(0, 3).join(': …, ')}: …)`;
    case 'record':
      return field && !pattern.endsWith(']') && !pattern.endsWith('*')
        ? `a mapping of ${field} by name`
        : 'a mapping (name: …)';
    case 'array': {
      const element = unwrap(schema._zod.def.element as Schema);
      if (['object', 'record', 'array'].includes(typeOf(element))) return 'a list (- …)';
      return `a list ([…, …]), each ${expectedWords(element, '', '', '')}`;
    }
    case 'string': {
      // A short description names the kind ("host name"); a field's sentence does not.
      const d = schema.description;
      return d && d.length <= 24 && !/[.;:]/.test(d) ? `a ${d}` : 'a text';
    }
    case 'union':
      return ((schema._zod.def.options ?? []) as Schema[])
        .map((o) => expectedWords(unwrap(o), '', '', ''))
        .join(', or ');
    case 'literal':
      return (schema._zod.def.values as unknown[]).map((v) => JSON.stringify(v)).join(' or ');
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of: ${Object.values(schema._zod.def.entries as object).join(', ')}`;
    default:
      return mine ?? 'another kind of value';
  }
}

function exampleOf(
  schema: Schema,
  pattern: string,
  field: string,
  examples: Readonly<Record<string, string>>,
): string | undefined {
  const example = examples[pattern];
  if (example) return example;
  // A list item has no "field:" of its own: the expected words are the fix.
  if (pattern.endsWith('[]')) return undefined;
  if (LEAF_EXAMPLES[field] && typeOf(schema) !== 'object') return LEAF_EXAMPLES[field];
  const hint = ownHint(schema);
  const sample = hint && /(?:such as|e\.g\.) (\S+)$/.exec(hint)?.[1];
  if (sample) return `${field}: ${sample}`;
  if (typeOf(schema) === 'boolean') return `${field}: true`;
  return undefined;
}

function received(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return String(value);
}

function count(value: unknown): string {
  const n = Array.isArray(value) ? value.length : 0;
  return n === 0 ? 'nothing' : `${n}`;
}

/** zod's "/^…$/" pattern text back to a RegExp. */
function toRegExp(text: string): RegExp | undefined {
  const end = text.lastIndexOf('/');
  try {
    return new RegExp(text.slice(1, end), text.slice(end + 1));
  } catch {
    return undefined;
  }
}

/** 10.5.5.1/24 -> 10.5.5.0/24: the prefix a user meant, when only host bits are wrong. */
function clearHostBits(text: string): string | undefined {
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  const network = networkOf(cidr);
  return network.text === cidr.text ? undefined : formatCidr(network);
}
