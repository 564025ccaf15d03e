// The JSON Schema shipped for editors is the one the code generates (run `npm run schema` after a change).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { specJsonSchema } from '../../src/systems/json-schema.ts';

test('schema/convergent.schema.json is up to date', () => {
  const shipped = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'convergent.schema.json'), 'utf8'),
  );
  assert.deepEqual(shipped, specJsonSchema());
});
