// Golden files pin the rendered output of every bundled example. After an intended change:
//   UPDATE_GOLDEN=1 npm test   and review the diff of test/golden/ like any other code change.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { textOf } from '../../src/host/files.ts';
import { exampleFiles, exampleName, renderExample } from '../support/examples.ts';

const GOLDEN = join(import.meta.dirname, '..', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('render: golden files', () => {
  for (const file of exampleFiles()) {
    const name = exampleName(file);
    test(`${name} renders as pinned`, () => {
      const dir = join(GOLDEN, name);
      const rendered = renderExample(file);
      const expected = new Map<string, string>();
      for (const [node, files] of rendered)
        for (const f of files) expected.set(join(node, f.path), textOf(f));
      if (update) {
        rmSync(dir, { recursive: true, force: true });
        for (const [path, text] of expected) {
          mkdirSync(dirname(join(dir, path)), { recursive: true });
          writeFileSync(join(dir, path), text);
        }
      }
      const actual = listFiles(dir)
        .map((p) => relative(dir, p))
        .sort();
      assert.deepEqual(actual, [...expected.keys()].sort(), `files under test/golden/${name}`);
      for (const [path, text] of expected) {
        assert.equal(
          text,
          readFileSync(join(dir, path), 'utf8'),
          `test/golden/${name}/${path} differs (UPDATE_GOLDEN=1 to accept)`,
        );
      }
    });

    test(`${name}: a second render is byte-identical`, () => {
      const first = renderExample(file);
      const second = renderExample(file);
      assert.deepEqual(second, first);
    });
  }
});
