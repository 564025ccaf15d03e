#!/usr/bin/env node
// Bundles the CLI into one CommonJS file with a V8 code cache, for the VM lab (src/vm/lab.ts): under
// emulation node takes 5-6 s to load dist/'s ES modules and 1.8 s to start this bundle from its
// cache (bench/README.md). Runs after tsc in `npm run build`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: join(out, 'convergent.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The bundle sits two levels below the repository, as dist/cli/main.js does, so the URLs the
  // modules build from import.meta.url (the lab's agents, the repository root) stay right.
  define: { 'import.meta.url': '__convergentUrl' },
  banner: { js: "const __convergentUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
copyFileSync(join(root, 'src', 'vm', 'start.cjs'), join(out, 'start.cjs'));
// The cache holds what a real run compiled: render every node of an example.
const warm = spawnSync(
  process.execPath,
  [join(out, 'start.cjs'), 'render', join(root, 'examples', 'part3-ctsync.yaml')],
  { env: { ...process.env, CONVERGENT_WRITE_CODE_CACHE: '1' }, stdio: ['ignore', 'ignore', 'inherit'] },
);
if (warm.status !== 0) throw new Error(`the bundled CLI failed its warm-up run (exit ${warm.status})`);
