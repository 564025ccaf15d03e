// The shape the code keeps (docs/architecture.md): short CLI files, short functions. Read with the
// TypeScript parser, so a function is what the language says it is, arrow functions included.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');
const MAX_CLI_LINES = 150;
const MAX_FUNCTION_LINES = 80;

function sources(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sources(path);
      return name.endsWith('.ts') ? [path] : [];
    });
}

const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** Every function-like node longer than the limit, as "file:line name (N lines)". */
function longFunctions(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const long: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        const name = node.name?.getText(source) ?? nameOfParent(node);
        long.push(`${relative(ROOT, file)}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return long;
}

function nameOfParent(node: ts.Node): string {
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p))) return p.name.getText();
  return '(anonymous)';
}

test(`no CLI source file is over ${MAX_CLI_LINES} lines`, () => {
  const long = sources(join(ROOT, 'src', 'cli'))
    .map((f) => [relative(ROOT, f), lineCount(readFileSync(f, 'utf8'))] as const)
    .filter(([, n]) => n > MAX_CLI_LINES)
    .map(([f, n]) => `${f} (${n} lines)`);
  assert.deepEqual(long, []);
});

test(`no function in src/ is over ${MAX_FUNCTION_LINES} lines`, () => {
  assert.deepEqual(sources(join(ROOT, 'src')).flatMap(longFunctions), []);
});

/** Folders that stand below the systems (docs/architecture.md): they import no system and no command. */
const LAYERS: readonly (readonly [string, readonly string[]])[] = [
  ['input', ['systems', 'cli']],
  ['nft', ['systems', 'cli']],
  ['host', ['systems', 'cli']],
  ['apply', ['systems', 'cli']],
  ['lab', ['systems', 'cli']],
  ['vm', ['systems', 'cli']],
  ['systems', ['cli']],
];

test('data flows one way: input, nft, host, apply, lab and vm import nothing from systems/ or cli/, systems/ nothing from cli/', () => {
  const crossings: string[] = [];
  for (const [folder, forbidden] of LAYERS) {
    for (const file of sources(join(ROOT, 'src', folder))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(join(ROOT, 'src'), join(file, '..', m[1] as string));
        if (forbidden.some((f) => target.startsWith(`${f}/`)))
          crossings.push(`${relative(ROOT, file)} imports ${target}`);
      }
    }
  }
  assert.deepEqual(crossings, []);
});
