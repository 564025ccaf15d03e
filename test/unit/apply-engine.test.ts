// The apply engine with fake parts on a fake host (a map of keys): the order of the changes, the
// journal and the checkpoint, rollback on a failed command, an interrupt or a failed health check,
// and the completion of an apply that was cut (the journal left behind).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Change, PartName } from '../../src/apply/change.ts';
import { emptyDesired } from '../../src/apply/checkpoint.ts';
import type { Desired } from '../../src/apply/desired.ts';
import { type AnyPart, apply, confirm, diff, type Hooks, ordered, rollback } from '../../src/apply/engine.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import type { HostIO } from '../../src/apply/part.ts';
import { lastRolledBack } from '../../src/apply/rolled-back.ts';
import { readApplied, readJournal } from '../../src/apply/state.ts';
import type { Runner } from '../../src/lab/run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-engine-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;

/** A host of keys ("links/eth0" -> "up"); `crashAt` throws at that command, as a SIGKILL ends apply. */
function fakeHost(initial: Record<string, string> = {}) {
  const state = new Map(Object.entries(initial));
  const ran: string[] = [];
  const host = { state, ran, failOn: undefined as string | undefined, crashAt: -1, onRun: () => {} };
  const run: Runner = (argv, options) => {
    host.onRun();
    if (ran.length === host.crashAt) throw new Error('crash');
    ran.push(argv.join(' '));
    const [verb, key = ''] = argv;
    if (verb === 'nft') return { code: 127, stdout: '', stderr: 'nft: spawnSync nft ENOENT' };
    if (key === host.failOn) return { code: 2, stdout: '', stderr: `cannot set ${key}` };
    if (verb === 'set') state.set(key, options?.input ?? '');
    if (verb === 'del') state.delete(key);
    return { code: 0, stdout: '', stderr: '' };
  };
  const io: HostIO = { run, root: '/', stateDir: join(tmp, `state${dirs++}`) };
  return { host, io };
}

/** A part owning the keys "<name>/…", desired as Desired.files under that prefix. */
function fakePart(name: PartName, records: string[] = []): AnyPart {
  const mine = (path: string) => path.startsWith(`${name}/`);
  return {
    name,
    read: (io) => {
      const live = new Map<string, string>();
      // The fake's "kernel" is the runner's closure: ask it through a read-only command.
      io.run(['read', name]);
      return live;
    },
    changes: (_io, _live, desired) => {
      const out: Change[] = [];
      const want = new Map(desired.files.filter((f) => mine(f.path)).map((f) => [f.path, f.text]));
      for (const [key, text] of want)
        if (text !== undefined && HOSTS.current.get(key) !== text)
          out.push({
            part: name,
            action: HOSTS.current.has(key) ? 'change' : 'add',
            what: key,
            commands: [{ argv: ['set', key], input: text }],
          });
      for (const key of HOSTS.current.keys())
        if (mine(key) && want.get(key) === undefined)
          out.push({ part: name, action: 'delete', what: key, commands: [{ argv: ['del', key] }] });
      return out;
    },
    snapshot: () => ({
      files: [...HOSTS.current].filter(([k]) => mine(k)).map(([path, text]) => ({ path, text })),
    }),
    record: () => {
      records.push(name);
    },
  };
}

/** The fake parts read the host under test: one at a time. */
const HOSTS = { current: new Map<string, string>() };

const PART_NAMES: PartName[] = ['links', 'addresses', 'routes', 'rules', 'nftables', 'files'];
const parts = (records?: string[]) => PART_NAMES.map((n) => fakePart(n, records));

function desired(keys: Record<string, string>): Desired {
  return {
    ...emptyDesired('c', 'node1'),
    files: Object.entries(keys).map(([path, text]) => ({ path, text })),
  };
}

function hooks(over: Partial<Hooks> = {}): Hooks & { said: string[] } {
  const said: string[] = [];
  return { said, say: (l) => said.push(l), interrupted: () => undefined, ...over };
}

const OLD = { 'links/br0': 'mtu 1500', 'addresses/a1': 'br0', 'rules/r1': '1000' };
const NEW = {
  'links/br0': 'mtu 9000',
  'links/br1': 'mtu 1500',
  'routes/default': 'via x',
  'nftables/t': 'x',
};

function setup(initial: Record<string, string> = OLD) {
  const h = fakeHost(initial);
  HOSTS.current = h.host.state;
  return h;
}
const changing = (ran: string[]) => ran.filter((c) => !c.startsWith('read '));

describe('apply engine', () => {
  test('adds in the parts order, then deletes rules, routes, addresses, links', () => {
    const c = (part: PartName, action: Change['action']): Change => ({
      part,
      action,
      what: part,
      commands: [],
    });
    const got = ordered([
      c('links', 'delete'),
      c('files', 'add'),
      c('rules', 'delete'),
      c('nftables', 'change'),
      c('addresses', 'delete'),
      c('rules', 'add'),
      c('links', 'add'),
      c('routes', 'delete'),
      c('nftables', 'delete'),
    ]).map((x) => `${x.action} ${x.part}`);
    assert.deepEqual(got, [
      'add links',
      'add rules',
      'change nftables',
      'delete nftables',
      'add files',
      'delete rules',
      'delete routes',
      'delete addresses',
      'delete links',
    ]);
  });

  test('apply runs the changes, records each part, leaves no journal; again it changes nothing', async () => {
    const { host, io } = setup();
    const records: string[] = [];
    const out = await apply(io, parts(records), desired(NEW), hooks());
    assert.deepEqual(out, { kind: 'applied', changes: 6 });
    assert.deepEqual(Object.fromEntries(host.state), NEW);
    assert.deepEqual(changing(host.ran), [
      'set links/br0',
      'set links/br1',
      'set routes/default',
      'set nftables/t',
      'del rules/r1',
      'del addresses/a1',
    ]);
    assert.equal(readJournal(io.stateDir), undefined);
    assert.equal(readApplied(io.stateDir)?.node, 'node1');
    assert.deepEqual(records, PART_NAMES);
    host.ran.length = 0;
    assert.deepEqual(await apply(io, parts(), desired(NEW), hooks()), { kind: 'unchanged' });
    assert.deepEqual(changing(host.ran), []);
    assert.deepEqual(diff(io, parts(), desired(NEW)), []);
  });

  test('the journal is written before the first change, with the checkpoint of the state before', async () => {
    const { host, io } = setup();
    let seen: unknown;
    host.onRun = () => {
      seen ??= host.ran.some((c) => c.startsWith('set')) ? undefined : readJournal(io.stateDir);
    };
    await apply(io, parts(), desired(NEW), hooks());
    assert.equal((seen as { phase: string }).phase, 'applying');
    assert.equal((seen as { pid: number }).pid, process.pid);
    const saved = JSON.parse(
      readFileSync(join(io.stateDir, 'checkpoint', 'desired.json'), 'utf8'),
    ) as Desired;
    assert.deepEqual(Object.fromEntries(saved.files.map((f) => [f.path, f.text])), OLD);
  });

  test('a failing command stops the apply and the checkpoint is restored', async () => {
    const { host, io } = setup();
    host.failOn = 'routes/default';
    const h = hooks();
    const out = await apply(io, parts(), desired(NEW), h);
    assert.equal(out.kind, 'rolled-back');
    assert.match(
      (out as { why: string }).why,
      /\+ routes\/default failed: set routes\/default exited 2: cannot set/,
    );
    assert.deepEqual(Object.fromEntries(host.state), OLD);
    assert.ok(!host.ran.includes('set nftables/t'), 'nothing after the failing command');
    assert.equal(readJournal(io.stateDir), undefined);
  });

  test('an interrupt between changes rolls back', async () => {
    const { host, io } = setup();
    const out = await apply(
      io,
      parts(),
      desired(NEW),
      hooks({ interrupted: () => (host.ran.length > 8 ? 'SIGTERM' : undefined) }),
    );
    assert.deepEqual(out, { kind: 'rolled-back', why: 'interrupted by SIGTERM' });
    assert.deepEqual(Object.fromEntries(host.state), OLD);
  });

  test('confirm-within: a failed health check rolls back; a healthy apply awaits its confirm', async () => {
    const { host, io } = setup();
    const sick = await apply(
      io,
      parts(),
      desired(NEW),
      hooks({ health: () => ['gateway 192.0.2.1 does not answer'] }),
      { confirmWithinMs: 60_000 },
    );
    assert.deepEqual(sick, {
      kind: 'rolled-back',
      why: 'health check failed: gateway 192.0.2.1 does not answer',
    });
    assert.deepEqual(Object.fromEntries(host.state), OLD);
    const ended: number[] = [];
    // The checks run before the first change too (their baseline), and after the last.
    const checked: number[] = [];
    const h = hooks({
      healthBefore: () => checked.push(changing(host.ran).length),
      health: () => {
        checked.push(changing(host.ran).length);
        return [];
      },
      startWatchdog: () => 4242,
      endWatchdog: (pid) => ended.push(pid),
    });
    const done = changing(host.ran).length;
    const ok = await apply(io, parts(), desired(NEW), h, { confirmWithinMs: 60_000 });
    assert.deepEqual(checked, [done, changing(host.ran).length]);
    assert.ok(done < changing(host.ran).length);
    assert.equal(ok.kind, 'awaiting');
    assert.deepEqual(Object.fromEntries(host.state), NEW);
    assert.equal(readJournal(io.stateDir)?.watchdog, 4242);
    assert.equal((await confirm(io, h))?.phase, 'awaiting');
    assert.deepEqual(ended, [4242]);
    assert.equal(readJournal(io.stateDir), undefined);
    assert.deepEqual(await rollback(io, parts(), h), { kind: 'nothing-to-roll-back' });
  });

  test('the confirm window starts once the health checks pass; a rollback is noted for a late confirm', async () => {
    const { io } = setup();
    let healthy = 0;
    const h = hooks({
      startWatchdog: () => 4242,
      health: () => {
        // Slow checks: the operator's window must not shrink by their time.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        healthy = Date.now();
        assert.equal(readJournal(io.stateDir)?.deadline, undefined, 'no deadline while applying');
        return [];
      },
    });
    const ok = await apply(io, parts(), desired(NEW), h, { confirmWithinMs: 1000 });
    assert.equal(ok.kind, 'awaiting');
    const deadline = Date.parse(readJournal(io.stateDir)?.deadline ?? '');
    assert.ok(deadline >= healthy + 1000, `deadline ${deadline - healthy} ms after the checks passed`);
    assert.equal(lastRolledBack(io.stateDir), undefined);
    await rollback(io, parts(), h, 'no `convergent apply --confirm` by then');
    assert.deepEqual(
      { ...lastRolledBack(io.stateDir), time: '' },
      {
        id: ok.kind === 'awaiting' ? ok.id : '',
        node: 'node1',
        time: '',
        why: 'no `convergent apply --confirm` by then',
      },
    );
    await apply(io, parts(), desired(NEW), hooks());
    assert.equal(lastRolledBack(io.stateDir), undefined, 'a new apply forgets the old rollback');
  });

  test('an apply over an unfinished one ends the old watchdog only after its own journal replaced the old', async () => {
    const { host, io } = setup();
    host.crashAt = 9;
    const first = hooks({ startWatchdog: () => 1111, health: () => [] });
    await assert.rejects(apply(io, parts(), desired(NEW), first, { confirmWithinMs: 60_000 }), /crash/);
    const old = readJournal(io.stateDir);
    assert.equal(old?.watchdog, 1111);
    host.crashAt = -1;
    const ended: { pid: number; journal: string | undefined }[] = [];
    const h = hooks({
      startWatchdog: () => 2222,
      endWatchdog: (pid) => ended.push({ pid, journal: readJournal(io.stateDir)?.id }),
      health: () => [],
    });
    const out = await apply(io, parts(), desired(NEW), h, { confirmWithinMs: 60_000 });
    assert.equal(out.kind, 'awaiting');
    assert.equal(ended.length, 1);
    assert.equal(ended[0]?.pid, 1111);
    assert.notEqual(ended[0]?.journal, old?.id, 'the new journal was written first');
    assert.equal(ended[0]?.journal, out.kind === 'awaiting' ? out.id : '');
  });

  test('an apply cut halfway: the next apply completes it, or rollback restores the state before', async () => {
    for (const next of ['apply', 'rollback'] as const) {
      const { host, io } = setup();
      host.crashAt = 9;
      await assert.rejects(apply(io, parts(), desired(NEW), hooks()), /crash/);
      assert.equal(readJournal(io.stateDir)?.phase, 'applying');
      assert.notDeepEqual(Object.fromEntries(host.state), OLD);
      host.crashAt = -1;
      if (next === 'apply') {
        const h = hooks();
        assert.equal((await apply(io, parts(), desired(NEW), h)).kind, 'applied');
        assert.match(h.said[0] ?? '', /^completing the unfinished apply .* \(applying\)$/);
        assert.deepEqual(Object.fromEntries(host.state), NEW);
      } else {
        assert.equal((await rollback(io, parts(), hooks())).kind, 'rolled-back');
        assert.deepEqual(Object.fromEntries(host.state), OLD);
      }
      assert.equal(readJournal(io.stateDir), undefined);
    }
  });

  test('another live apply holds the state dir; a dead one does not', async () => {
    const { io } = setup();
    await apply(io, parts(), desired(OLD), hooks());
    writeFileSync(join(io.stateDir, 'lock'), '1\n');
    await assert.rejects(apply(io, parts(), desired(NEW), hooks()), /another convergent \(pid 1\)/);
    writeFileSync(join(io.stateDir, 'lock'), '999999999\n');
    assert.equal((await apply(io, parts(), desired(NEW), hooks())).kind, 'applied');
    assert.ok(!existsSync(join(io.stateDir, 'lock')));
  });

  test('the lock is never an empty file: an empty (broken) one is taken over; no file of ours is left', async () => {
    const { io } = setup();
    await apply(io, parts(), desired(OLD), hooks());
    writeFileSync(join(io.stateDir, 'lock'), '');
    const seen: string[] = [];
    const watching: Hooks = {
      ...hooks(),
      say: () => seen.push(readFileSync(join(io.stateDir, 'lock'), 'utf8')),
    };
    assert.equal((await apply(io, parts(), desired(NEW), watching)).kind, 'applied');
    assert.ok(seen.length > 0);
    for (const held of seen) assert.equal(held, `${process.pid}\n`);
    assert.deepEqual(
      readdirSync(io.stateDir).filter((f) => f.includes('lock')),
      [],
    );
  });

  test('four applies at once: the lock has one holder at a time, none fails on a lock being taken', async () => {
    const dir = join(tmp, 'contended');
    const worker = join(import.meta.dirname, '../support/lock-worker.ts');
    const runs = [1, 2, 3, 4].map(
      () =>
        new Promise<string>((resolve, reject) =>
          execFile(process.execPath, ['--import', 'tsx', worker, dir, '2000'], (err, stdout, stderr) =>
            err ? reject(new Error(stderr)) : resolve(stdout),
          ),
        ),
    );
    const counts = (await Promise.all(runs)).map(
      (out) => JSON.parse(out) as { held: number; shared: number },
    );
    for (const { held, shared } of counts) {
      assert.ok(held > 0);
      assert.equal(shared, 0);
    }
  });

  test('--state naming a file: apply (and diff, reading the record) say so with the fix, not a stack', async () => {
    const { io } = setup();
    writeFileSync(join(tmp, 'afile'), 'not a dir\n');
    const at = { ...io, stateDir: join(tmp, 'afile') };
    for (const run of [() => apply(at, parts(), desired(NEW), hooks()), async () => readApplied(at.stateDir)])
      await assert.rejects(run(), (err: unknown) => {
        assert.ok(err instanceof ApplyError);
        assert.equal(
          err.message,
          `the state dir ${at.stateDir} is not a directory (a file is there, or on its way)`,
        );
        assert.equal(
          err.fix,
          'give --state a directory (default /var/lib/convergent), or move that file away',
        );
        return true;
      });
  });

  test('a missing tool is named with its Debian package, not run as a failure', async () => {
    const { io } = setup();
    const tool: AnyPart = {
      ...fakePart('nftables'),
      changes: () => [
        { part: 'nftables', action: 'add', what: 't', commands: [{ argv: ['nft', '-f', '-'] }] },
      ],
    };
    await assert.rejects(apply(io, [tool], desired({}), hooks()), (err: unknown) => {
      assert.ok(err instanceof ApplyError);
      assert.equal(err.kind, 'needs');
      assert.equal(err.message, 'nft is not installed on this host');
      assert.equal(err.fix, 'apt-get install nftables');
      return true;
    });
  });
});
