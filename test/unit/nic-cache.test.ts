// The hooks' cache of a spec's NIC table (src/systems/cluster/nic/cache.ts), rootless: used while the
// spec is unchanged, missed when one byte changes, never written for a spec with problems, a corrupt
// or untrusted entry ignored, and a directory that cannot be written no reason to fail.
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SpecError } from '../../src/input/problem.ts';
import { readNicTable } from '../../src/systems/cluster/nic/cache.ts';
import { findNode, findPlug } from '../../src/systems/cluster/nic/find.ts';
import { type NicTable, nicTableOf } from '../../src/systems/cluster/nic/table.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-nic-cache-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A spec copied from an example, a fresh cache directory, and a loader that counts its calls. */
function setup(name: string, example = 'examples/ganeti-seed.yaml') {
  const dir = join(scratch, name);
  mkdirSync(dir, { mode: 0o700 });
  const file = join(dir, 'cluster.yaml');
  copyFileSync(example, file);
  const cache = join(dir, 'cache');
  const counted = { loads: 0 };
  // The program that reads the spec: a built CLI (a TypeScript source gets no cache).
  const program = join(dir, 'convergent.cjs');
  writeFileSync(program, '// the CLI\n');
  const read = () =>
    readNicTable(file, {
      dir: cache,
      program,
      load: (f) => {
        counted.loads++;
        return nicTableOf(readCluster(f));
      },
    });
  const entries = () => {
    try {
      return readdirSync(cache).map((e) => join(cache, e));
    } catch {
      return [];
    }
  };
  return { file, cache, program, counted, read, entries };
}

/** Every NIC's plug as the hook finds it: what a cached table must give as the spec does. */
const plugs = (table: NicTable) =>
  JSON.stringify(
    table.guests.flatMap((g) =>
      g.nics.map((n) => findPlug(table, findNode(table, g.node), `${g.name}:${n.index}`)),
    ),
  );

test('an unchanged spec is read once: the second hook gets the cached table, with the same plugs', () => {
  const s = setup('unchanged');
  const first = s.read();
  const second = s.read();
  assert.equal(s.counted.loads, 1);
  assert.equal(s.entries().length, 1);
  const spec = nicTableOf(readCluster(s.file));
  assert.ok(
    spec.guests.some((g) => g.nics.length > 0),
    'the example has NICs to compare',
  );
  assert.equal(plugs(second), plugs(spec));
  assert.equal(plugs(first), plugs(spec));
});

test('one byte changed in the spec misses the cache, and the new table is what the spec now says', () => {
  const s = setup('edited');
  const before = s.read();
  const text = readFileSync(s.file, 'utf8');
  const mac = before.guests.flatMap((g) => g.nics).find((n) => n.mac !== undefined)?.mac;
  assert.ok(mac, 'the example has a NIC with a MAC');
  // The last hex digit of one MAC: one byte.
  const edited = `${mac.slice(0, -1)}${mac.endsWith('e') ? 'f' : 'e'}`;
  writeFileSync(s.file, text.replace(mac, edited));
  const after = s.read();
  assert.equal(s.counted.loads, 2);
  assert.ok(after.guests.some((g) => g.nics.some((n) => n.mac === edited)));
  assert.equal(s.entries().length, 1, 'one entry per spec file: the edit replaced it');
  s.read();
  assert.equal(s.counted.loads, 2, 'the edited spec is cached in turn');
});

test('a spec with problems is never cached: every hook refuses it with the located error', () => {
  const s = setup('invalid');
  writeFileSync(s.file, readFileSync(s.file, 'utf8').replace(/^name: .*$/m, 'name: "Not A Name!"'));
  for (let i = 0; i < 2; i++)
    assert.throws(s.read, (err: unknown) => {
      assert.ok(err instanceof SpecError);
      assert.match(err.message, /cluster\.yaml:\d+:\d+: error: /);
      return true;
    });
  assert.equal(s.counted.loads, 2);
  assert.deepEqual(s.entries(), []);
});

test('a corrupt entry is ignored and rebuilt; an entry in a directory others may write is not trusted', () => {
  const s = setup('corrupt');
  s.read();
  const [entry] = s.entries();
  assert.ok(entry);
  const good = readFileSync(entry, 'utf8');
  // A byte of the JSON changed (its checksum no longer fits), then the file cut short.
  for (const bad of [good.replace('"guests"', '"guestz"'), good.slice(0, good.length / 2)]) {
    writeFileSync(entry, bad);
    const loads = s.counted.loads;
    assert.equal(plugs(s.read()), plugs(nicTableOf(readCluster(s.file))));
    assert.equal(s.counted.loads, loads + 1);
    assert.equal(readFileSync(entry, 'utf8'), good, 'rebuilt');
  }
  chmodSync(s.cache, 0o777);
  s.read();
  s.read();
  assert.equal(s.counted.loads, 5, 'a world-writable cache directory is not read');
});

test('a cache directory that cannot be made or written is no reason to fail', () => {
  const s = setup('unwritable');
  writeFileSync(s.cache, 'a file where the directory would be\n');
  for (const dir of [s.cache, join(s.cache, 'below')]) {
    const table = readNicTable(s.file, { dir, program: s.program });
    assert.equal(plugs(table), plugs(nicTableOf(readCluster(s.file))));
  }
});

test('a new build of the program misses the cache; a TypeScript source run through tsx gets none', () => {
  const s = setup('program');
  s.read();
  writeFileSync(s.program, '// the CLI, built again\n');
  s.read();
  s.read();
  assert.equal(s.counted.loads, 2);
  const dir = join(s.cache, '..', 'tsx');
  readNicTable(s.file, { dir, program: join(s.cache, '..', 'main.ts') });
  assert.deepEqual(readdirSync(join(s.cache, '..')).includes('tsx'), false);
});
