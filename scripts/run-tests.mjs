#!/usr/bin/env node
// Runs the tests with node's own test runner, TypeScript loaded by tsx, by what they need:
//   test/unit/  rootless: spec, compile, goldens, nft lint, CLI, structure
//   test/lab/   root: network namespaces, real nft, conntrack, daemons and traffic
//   test/vm/    root and qemu: the lab inside a VM with a Debian kernel
// `node scripts/run-tests.mjs` runs all three in that order; `… unit` (npm run test:unit) one group.
// Node 20's --test takes no globs, so the files are collected here. Arguments after the groups are
// passed on (e.g. `npm test -- --test-name-pattern=render`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const GROUPS = ['unit', 'lab', 'vm'];

function collect(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const argv = process.argv.slice(2);
const chosen = argv.filter((a) => GROUPS.includes(a));
const passOn = argv.filter((a) => !GROUPS.includes(a));
const files = (chosen.length > 0 ? chosen : GROUPS).flatMap((group) => collect(join('test', group)));
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', ...passOn, ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
