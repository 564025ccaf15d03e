// A problem in the user's spec: where it is, what is wrong, how to fix it.

/** A path into the spec, as in the YAML: ["guests", "guest1", "address"]. */
export type SpecPath = readonly (string | number)[];

export interface Problem {
  readonly path: SpecPath;
  /** Point at the key of the last path element rather than its value (e.g. a duplicate name). */
  readonly atKey?: boolean;
  readonly message: string;
  readonly fix?: string;
}

export interface Location {
  readonly line: number;
  readonly col: number;
}

export interface LocatedProblem extends Problem {
  readonly file: string;
  readonly location: Location;
}

/** "guests.guest1.address", "forwards[2].port": how a path is named in messages and comments. */
export function formatPath(path: SpecPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

export function formatProblem(p: LocatedProblem): string {
  const head = `${escapeControls(p.file)}:${p.location.line}:${p.location.col}: error: ${escapeControls(p.message)}`;
  return p.fix ? `${head}\n  fix: ${escapeControls(p.fix)}` : head;
}

const NAMED: Readonly<Record<string, string>> = {
  '\0': '\\0',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\x1b': '\\e',
};

/**
 * Control characters spelled as in a YAML double-quoted string ("\e", "\x07", "\u2028"), so that a
 * name echoed from the spec cannot move the cursor, recolour or clear the user's terminal. `keep`:
 * the ones to leave (line feeds and tabs of a tool's output quoted in a lab error).
 */
export function escapeControls(text: string, keep = ''): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      if (keep.includes(c)) return c;
      const code = c.charCodeAt(0);
      return (
        NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`)
      );
    },
  );
}

/** Thrown when a spec cannot be used; carries every problem found, in file order. */
export class SpecError extends Error {
  readonly problems: readonly LocatedProblem[];
  constructor(problems: readonly LocatedProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
    this.problems = problems;
  }
}
