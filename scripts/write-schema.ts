// Writes schema/convergent.schema.json from the zod schema (npm run schema). A test keeps it current.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specJsonSchema } from '../src/systems/json-schema.ts';

const path = join(import.meta.dirname, '..', 'schema', 'convergent.schema.json');
writeFileSync(path, `${JSON.stringify(specJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${path}\n`);
