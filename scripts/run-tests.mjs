#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's own test runner, TypeScript loaded by tsx.
// Node 20's --test takes no globs, so the files are collected here. Extra arguments are passed on
// (e.g. `npm test -- --test-name-pattern=render`).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = ['src', 'test'].flatMap((d) => collect(d));
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', ...process.argv.slice(2), ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
