// Reads a spec file as YAML text, or says in words why it cannot: a missing file, a directory, no
// permission, a binary file. One problem each, never Node's errno text, never a read that does not end.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type LocatedProblem, SpecError } from './problem.ts';

/** Far beyond any real spec (20,000 guests take 2 MB); stops /dev/zero and the like. */
const MAX_BYTES = 64 * 1024 * 1024;

export function readSpecText(file: string): string {
  let fd: number;
  try {
    if (statSync(file).isDirectory()) fail(file, 'this is a directory, not a spec file', directoryFix(file));
    fd = openSync(file, 'r');
  } catch (err) {
    if (err instanceof SpecError) throw err;
    return fail(file, ...openFailure(file, err as NodeJS.ErrnoException));
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 16);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_BYTES)
        fail(
          file,
          'this file is larger than 64 MiB; no spec is that large',
          'name the spec file (YAML text)',
        );
    }
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const e = err as NodeJS.ErrnoException;
    fail(
      file,
      `the file cannot be read: ${e.code === 'EISDIR' ? 'it is a directory' : (e.code ?? 'read error')}`,
      'name the spec file (YAML text)',
    );
  } finally {
    closeSync(fd);
  }
  return decode(file, Buffer.concat(chunks, total));
}

/** UTF-8 YAML text; anything else (an executable, an image, UTF-16) is one problem, not a page of YAML errors. */
function decode(file: string, bytes: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return fail(
      file,
      'this is not a YAML text file: it is not UTF-8 text (binary data?)',
      'name the spec file (YAML text)',
    );
  }
  // YAML allows tab, line feed and carriage return among the C0 controls, and no raw NUL, DEL or C1 control but NEL.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u0080-\u0084\u0086-\u009f]/g;
  const found = [...text.matchAll(control)];
  const first = found[0];
  if (first) {
    const before = text.slice(0, first.index);
    const line = before.split('\n').length;
    const col = first.index - before.lastIndexOf('\n');
    const code = (first[0].codePointAt(0) as number).toString(16).padStart(4, '0').toUpperCase();
    const more = found.length > 1 ? `, ${found.length} in all` : '';
    throw new SpecError([
      {
        file,
        location: { line, col },
        path: [],
        message: `this is not a YAML text file: it contains control characters (U+${code} here${more})`,
        fix: 'remove them; a value that needs one spells it in double quotes, e.g. "\\e"',
      },
    ]);
  }
  return text;
}

function openFailure(file: string, err: NodeJS.ErrnoException): [string, string] {
  switch (err.code) {
    case 'ENOENT':
      return [
        'no such file',
        'check the path; the examples are in examples/, e.g. examples/part4-stateless.yaml',
      ];
    case 'ENOTDIR':
      return ['no such file: a part of the path is a file, not a directory', 'check the path'];
    case 'EACCES':
    case 'EPERM':
      return ['permission denied', `read it as a user who may, or allow reading: chmod a+r ${file}`];
    case 'ELOOP':
      return ['the path is a loop of symbolic links', 'point the link at the spec file'];
    case 'ENAMETOOLONG':
      return ['the path is too long', 'check the path'];
    default:
      return [`the file cannot be opened (${err.code ?? 'error'})`, 'check the path and the file'];
  }
}

/** "name one of the YAML files in it: a.yaml, b.yaml", or how to name one. */
function directoryFix(dir: string): string {
  let yaml: string[] = [];
  try {
    yaml = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    // An unreadable directory: say what to name without listing it.
  }
  if (yaml.length === 0) return 'name the spec file, e.g. examples/part4-stateless.yaml';
  const list = yaml.slice(0, 4).map((f) => join(dir, f));
  return `name a spec file in it: ${list.join(', ')}${yaml.length > 4 ? ', …' : ''}`;
}

function fail(file: string, message: string, fix: string): never {
  const problem: LocatedProblem = { file, location: { line: 1, col: 1 }, path: [], message, fix };
  throw new SpecError([problem]);
}
