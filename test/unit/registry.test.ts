// The registry of systems: one per kind of spec, each renders its examples; an unknown kind is a
// located error that lists the kinds; a lab's state of an earlier version still reads (rootless).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { KINDS } from '../../src/systems/kinds.ts';
import { readSpec, SYSTEMS, systemOf } from '../../src/systems/registry.ts';
import { convergent } from '../support/cli.ts';
import { exampleFiles, exampleName } from '../support/examples.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-registry-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('registry', () => {
  test('one system per kind of spec, each under its own kind', () => {
    assert.deepEqual(
      Object.keys(SYSTEMS),
      KINDS.map((k) => k.kind),
    );
    for (const [kind, system] of Object.entries(SYSTEMS)) {
      assert.equal(system.kind, kind);
      assert.equal(systemOf(kind), system);
    }
    assert.equal(systemOf('firewall'), undefined);
  });

  test('every example is read by the system of its kind and renders files for its hosts', () => {
    const kinds = new Set<string>();
    for (const file of exampleFiles()) {
      const { system, spec } = readSpec(file);
      kinds.add(system.kind);
      const rendered = system.render(spec);
      assert.ok(rendered.size > 0, `${exampleName(file)}: no host rendered`);
      for (const [host, files] of rendered) {
        assert.equal(system.unknownHost(spec, host, file), undefined, `${exampleName(file)}: ${host}`);
        assert.ok(files.length > 0, `${exampleName(file)}: ${host} has no files`);
        assert.deepEqual([...system.render(spec, host).keys()], [host]);
      }
      assert.match(system.unknownHost(spec, 'no-such-host', file) ?? '', /no-such-host/);
    }
    assert.deepEqual([...kinds].sort(), Object.keys(SYSTEMS).sort(), 'an example of every kind');
  });

  test('an unknown kind is one error at its value, listing the kinds', () => {
    const file = join(tmp, 'firewall.yaml');
    writeFileSync(file, 'name: edge\nkind: firewall\nrules: []\n');
    const r = convergent('check', file);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `${file}:2:7: error: kind is "firewall"; the kinds of spec are: cluster (the default), cgnat\n` +
        '  fix: write one of them, or leave "kind" out for a cluster\n' +
        '1 problem found.\n',
    );
  });

  test('lab status reads the state of a lab written before labs had a kind and a name', () => {
    const root = join(tmp, 'lab');
    const old = (id: string, fields: object) => {
      mkdirSync(join(root, id), { recursive: true });
      const state = { id, spec: '/x.yaml', faults: [], created: 'then', hosts: {}, pids: [], nextPort: 1 };
      writeFileSync(join(root, id, 'state.json'), JSON.stringify({ ...state, notes: [], ...fields }));
    };
    old('cvg-999999991-aaaa', { cluster: 'part4', uplinkMacs: {} });
    old('cvg-999999992-bbbb', { kind: 'cgnat', backend: 'netns', cluster: 'demo', uplinkMacs: {} });
    const before = process.env.CONVERGENT_LAB_DIR;
    process.env.CONVERGENT_LAB_DIR = root;
    try {
      const r = convergent('lab', 'status');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /cvg-999999991-aaaa {2}cluster part4 from \/x\.yaml, up since then\n/);
      assert.match(r.stdout, /cvg-999999992-bbbb {2}CGNAT demo \(backend netns\) from \/x\.yaml/);
    } finally {
      if (before === undefined) delete process.env.CONVERGENT_LAB_DIR;
      else process.env.CONVERGENT_LAB_DIR = before;
    }
  });
});
