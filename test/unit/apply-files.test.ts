// The files part through the engine, rootless in a temp root: rendered files installed under
// etc/convergent/ (haproxy.cfg also for HAProxy), a daemon reloaded only when its file changed, a
// file the plan drops removed, and a rollback bringing back the files as they were.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { emptyDesired } from '../../src/apply/checkpoint.ts';
import type { Desired } from '../../src/apply/desired.ts';
import { apply, diff, type Hooks } from '../../src/apply/engine.ts';
import { filesPart } from '../../src/apply/files.ts';
import type { HostIO } from '../../src/apply/part.ts';
import { realRunner } from '../../src/lab/run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const root = join(tmp, 'root');
const reloads = join(tmp, 'reloads');
const io: HostIO = { run: realRunner, root, stateDir: join(tmp, 'state') };
// The caller's reload: here a line in a log, as the lab's own would signal its process.
const part = filesPart((daemon) => [{ argv: ['sh', '-c', `echo ${daemon} >> ${reloads}`] }]);
const hooks: Hooks = { say: () => {}, interrupted: () => undefined };

function desired(files: Record<string, string>): Desired {
  return {
    ...emptyDesired('c', 'node1'),
    files: Object.entries(files).map(([path, text]) => ({ path: `etc/convergent/${path}`, text })),
  };
}
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const reloaded = () => (existsSync(reloads) ? readFileSync(reloads, 'utf8').split('\n').filter(Boolean) : []);

/** A node's plan: its nft as a plan (not a checkpoint's saved text) says the files are the whole set. */
const plan = (files: Record<string, string>): Desired => ({
  ...desired(files),
  nft: { kind: 'plan', ruleset: { tables: [] }, text: '' },
});

describe('apply: files', () => {
  test('installs the files, haproxy.cfg also for HAProxy, and reloads it once', async () => {
    mkdirSync(join(root, 'etc/haproxy'), { recursive: true });
    writeFileSync(join(root, 'etc/haproxy/haproxy.cfg'), 'the package default\n');
    const out = await apply(
      io,
      [part],
      desired({ 'network.sh': '#!/bin/sh\n', 'haproxy.cfg': 'listen a\n' }),
      hooks,
    );
    assert.deepEqual(out, { kind: 'applied', changes: 4 });
    assert.equal(read('etc/convergent/network.sh'), '#!/bin/sh\n');
    assert.equal(statSync(join(root, 'etc/convergent/network.sh')).mode & 0o777, 0o755);
    assert.equal(read('etc/haproxy/haproxy.cfg'), 'listen a\n');
    assert.deepEqual(reloaded(), ['haproxy']);
  });

  test('again: nothing changes and nothing reloads; a changed other file does not reload HAProxy', async () => {
    assert.deepEqual(
      await apply(io, [part], desired({ 'network.sh': '#!/bin/sh\n', 'haproxy.cfg': 'listen a\n' }), hooks),
      {
        kind: 'unchanged',
      },
    );
    await apply(
      io,
      [part],
      desired({ 'network.sh': '#!/bin/sh\nexit 0\n', 'haproxy.cfg': 'listen a\n' }),
      hooks,
    );
    assert.deepEqual(reloaded(), ['haproxy']);
  });

  test('a file the plan drops is removed from etc/convergent/; the daemon keeps its own', async () => {
    const changes = diff(io, [part], desired({ 'network.sh': '#!/bin/sh\nexit 0\n' }));
    assert.deepEqual(
      changes.map((c) => `${c.action} ${c.what}`),
      [`delete file ${root}/etc/convergent/haproxy.cfg`],
    );
  });

  test('a reload that fails (the daemon refuses the file) rolls back: the files are as they were', async () => {
    const failing = filesPart(() => [
      { argv: ['sh', '-c', `! grep -q bad ${root}/etc/haproxy/haproxy.cfg`] },
    ]);
    rmSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'etc/haproxy'), { recursive: true });
    writeFileSync(join(root, 'etc/haproxy/haproxy.cfg'), 'the package default\n');
    const out = await apply(io, [failing], desired({ 'haproxy.cfg': 'listen bad\n' }), hooks);
    assert.equal(out.kind, 'rolled-back');
    assert.equal(read('etc/haproxy/haproxy.cfg'), 'the package default\n');
    assert.ok(!existsSync(join(root, 'etc/convergent/haproxy.cfg')));
  });

  test("iproute2's names of the tables are installed where ip reads them, and go when the plan drops them", async () => {
    const rt = 'etc/iproute2/rt_tables.d/convergent.conf';
    await apply(io, [part], plan({ 'rt_tables.d/convergent.conf': '500 public\n' }), hooks);
    assert.equal(read(rt), '500 public\n');
    await apply(io, [part], plan({ 'network.sh': '#!/bin/sh\n' }), hooks);
    assert.ok(!existsSync(join(root, rt)));
    assert.ok(!existsSync(join(root, 'etc/convergent/rt_tables.d')), 'its directory went with it');
  });
});

describe('apply: files convergent did not install', () => {
  const fresh = (name: string): HostIO => ({
    run: realRunner,
    root: join(tmp, name, 'root'),
    stateDir: join(tmp, name, 'state'),
  });
  const at = (io: HostIO, path: string) => join(io.root, path);

  test("an operator's own file in etc/convergent/ stays, apply after apply; convergent's own go", async () => {
    const own = fresh('own');
    mkdirSync(at(own, 'etc/convergent'), { recursive: true });
    writeFileSync(at(own, 'etc/convergent/cluster.yaml'), 'name: mine\n');
    await apply(
      own,
      [part],
      plan({ 'network.sh': '#!/bin/sh\n', 'modules-load.d/convergent.conf': 'nf\n' }),
      hooks,
    );
    const changes = diff(own, [part], plan({ 'network.sh': '#!/bin/sh\n' }));
    assert.deepEqual(
      changes.map((c) => `${c.action} ${c.what}`),
      [`delete file ${own.root}/etc/convergent/modules-load.d/convergent.conf`],
    );
    await apply(own, [part], plan({ 'network.sh': '#!/bin/sh\n' }), hooks);
    assert.equal(readFileSync(at(own, 'etc/convergent/cluster.yaml'), 'utf8'), 'name: mine\n');
    assert.ok(!existsSync(at(own, 'etc/convergent/modules-load.d')));
  });

  test('a symbolic link in etc/convergent/ is never followed: what it points to stays', async () => {
    const linked = fresh('linked');
    const elsewhere = join(tmp, 'linked', 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(elsewhere, 'keep.yaml'), 'precious\n');
    mkdirSync(at(linked, 'etc/convergent'), { recursive: true });
    symlinkSync(elsewhere, at(linked, 'etc/convergent/specs'));
    const out = await apply(linked, [part], plan({ 'network.sh': '#!/bin/sh\n' }), hooks);
    assert.deepEqual(out, { kind: 'applied', changes: 1 });
    assert.equal(readFileSync(join(elsewhere, 'keep.yaml'), 'utf8'), 'precious\n');
    assert.deepEqual(diff(linked, [part], plan({ 'network.sh': '#!/bin/sh\n' })), []);
  });

  test('a plan file behind a symbolic link is refused, named, before anything is written', async () => {
    const through = fresh('through');
    const elsewhere = join(tmp, 'through', 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    mkdirSync(at(through, 'etc'), { recursive: true });
    symlinkSync(elsewhere, at(through, 'etc/convergent'));
    await assert.rejects(apply(through, [part], plan({ 'network.sh': '#!/bin/sh\n' }), hooks), {
      name: 'ApplyError',
      message: `cannot install ${through.root}/etc/convergent/network.sh: ${through.root}/etc/convergent is a symbolic link (to ${elsewhere}); convergent writes its files as files, never through a link`,
    });
    assert.deepEqual(readdirSync(elsewhere), []);
    // The file itself a link (to a file outside the root): refused too, the target untouched.
    rmSync(at(through, 'etc/convergent'));
    mkdirSync(at(through, 'etc/convergent'));
    writeFileSync(join(elsewhere, 'target'), 'theirs\n');
    symlinkSync(join(elsewhere, 'target'), at(through, 'etc/convergent/network.sh'));
    await assert.rejects(
      apply(through, [part], plan({ 'network.sh': '#!/bin/sh\n' }), hooks),
      /is a symbolic link/,
    );
    assert.equal(readFileSync(join(elsewhere, 'target'), 'utf8'), 'theirs\n');
  });
});

describe('apply: a daemon after an apply cut before its reload', () => {
  test('the next apply reloads it: its file is what the plan says, but not what it last took', async () => {
    const cut: HostIO = {
      run: realRunner,
      root: join(tmp, 'cut', 'root'),
      stateDir: join(tmp, 'cut', 'state'),
    };
    const log = join(tmp, 'cut', 'reloads');
    const reloads = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const logged = filesPart((daemon) => [{ argv: ['sh', '-c', `echo ${daemon} >> ${log}`] }]);
    await apply(cut, [logged], plan({ 'haproxy.cfg': 'listen a\n' }), hooks);
    assert.deepEqual(reloads(), ['haproxy']);
    // A SIGKILL between the files and the reload: the runner dies at the reload, nothing after it runs.
    const dying: HostIO = {
      ...cut,
      run: (argv, options) => {
        if (argv.some((a) => a.includes(log))) throw new Error('killed');
        return realRunner(argv, options);
      },
    };
    await assert.rejects(apply(dying, [logged], plan({ 'haproxy.cfg': 'listen b\n' }), hooks), /killed/);
    assert.equal(readFileSync(join(cut.root, 'etc/haproxy/haproxy.cfg'), 'utf8'), 'listen b\n');
    const next = plan({ 'haproxy.cfg': 'listen b\n' });
    assert.deepEqual(
      diff(cut, [logged], next).map((c) => `${c.what}: ${c.detail}`),
      [
        'daemon haproxy: reload: etc/haproxy/haproxy.cfg not known to be taken (no completed apply installed it)',
      ],
    );
    assert.deepEqual(await apply(cut, [logged], next, hooks), { kind: 'applied', changes: 1 });
    assert.deepEqual(reloads(), ['haproxy', 'haproxy']);
    assert.deepEqual(await apply(cut, [logged], next, hooks), { kind: 'unchanged' });
  });
});
