// Starts the bundled CLI (dist/bundle/convergent.cjs) with V8's code cache, for the VM lab.
// Under qemu's emulated CPU, node spends seconds parsing and compiling the CLI's modules; the cache
// (written at build time by scripts/bundle.mjs, after a real run) lets V8 skip that. A cache from
// another node or V8 is rejected by V8 itself, and the CLI then simply compiles as usual.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');
const { Script } = require('node:vm');

const file = join(__dirname, 'convergent.cjs');
const cacheFile = join(__dirname, 'convergent.cache');
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
// The hashbang esbuild keeps from main.ts is only valid at the very start of a script, not in the wrapper.
const source = readFileSync(file, 'utf8').replace(/^#!/, '//');
const script = new Script(Module.wrap(source), { filename: file, cachedData });
if (process.env.CONVERGENT_WRITE_CODE_CACHE === '1')
  process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
const module_ = { exports: {} };
script.runInThisContext()(module_.exports, Module.createRequire(file), module_, file, __dirname);
