// `convergent lab` as a user runs it: up, status, exec, check, down; two labs side by side; the lab
// removed on SIGINT and SIGTERM; leftovers of a crashed run removed by `lab down --all`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type LabEntry, labDir, removableByAll } from '../../src/lab/registry.ts';
import { FAULTS } from '../../src/systems/faults.ts';
import { convergent, MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const part3 = join(EXAMPLES_DIR, 'part3-fullnat.yaml');
const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');

const namespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

function labUp(file: string): string {
  const r = convergent('lab', 'up', file);
  assert.equal(r.code, 0, r.stderr);
  const id = /^lab (cvg-\d+-[0-9a-f]{4}) is up/.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  return id;
}

/** Running, as opposed to gone or a zombie waiting for init to reap it. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('lab cli', () => {
  test('up, status, exec, check, down; two labs side by side', (t) => {
    if (!needsRoot(t)) return;
    const a = labUp(part4);
    const b = labUp(part3);
    try {
      const status = convergent('lab', 'status');
      assert.match(status.stdout, new RegExp(`${a} {2}cluster part4`));
      assert.match(status.stdout, new RegExp(`${b} {2}cluster part3`));

      const tables = convergent('lab', 'exec', '--lab', a, 'node1', '--', 'nft', 'list', 'tables');
      assert.equal(tables.code, 0, tables.stderr);
      assert.match(tables.stdout, /table ip convergent\ntable netdev convergent/);
      const addr = convergent(
        'lab',
        'exec',
        '--lab',
        'part3',
        'guest2',
        '--',
        'ip',
        '-4',
        '-o',
        'addr',
        'show',
        'eth0',
      );
      assert.match(addr.stdout, /inet 10\.5\.5\.202\/24/);

      const ambiguous = convergent('lab', 'exec', 'node1', '--', 'true');
      assert.equal(ambiguous.code, 2);
      assert.match(ambiguous.stderr, /\d labs match; name one by id: .*cvg-/);
      const unknown = convergent('lab', 'exec', '--lab', a, 'nobody', '--', 'true');
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /no host "nobody" in the lab; hosts: upstream, workstation, node1/);

      const check = convergent('lab', 'check', a, '--json');
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const report = JSON.parse(check.stdout) as { failed: number; passed: number; lab: string };
      assert.deepEqual([report.lab, report.failed, report.passed], [a, 0, 14]);

      const down = convergent('lab', 'down', a);
      assert.equal(down.code, 0, down.stderr);
      assert.ok(!namespaces().includes(a), 'lab a is gone');
      assert.ok(namespaces().includes(b), 'lab b is still up');
    } finally {
      convergent('lab', 'down', a);
      convergent('lab', 'down', b);
    }
    assert.ok(!namespaces().includes(b));
    assert.ok(!existsSync(labDir(a)) && !existsSync(labDir(b)));
  });

  test('a CGNAT lab: up on the netns backend, status, exec in the router, check twice, no apply, down', (t) => {
    if (!needsRoot(t)) return;
    const demo = join(EXAMPLES_DIR, 'cgnat-demo.yaml');
    const up = convergent('lab', 'up', demo, '--backend', 'netns');
    assert.equal(up.code, 0, up.stderr);
    const id = /^lab (cvg-\d+-[0-9a-f]{4}) is up \(CGNAT cgnat-demo, backend netns\)/.exec(up.stdout)?.[1];
    assert.ok(id, up.stdout);
    try {
      assert.match(up.stdout, /hosts: main, uplink, blue_c1, blue_c2, red_c1, blue, red\n/);
      const status = convergent('lab', 'status', id);
      assert.match(status.stdout, new RegExp(`${id} {2}CGNAT cgnat-demo \\(backend netns\\) from `));
      assert.match(status.stdout, /\n {2}red_c1 +client +cvg-/);
      const chains = convergent(
        'lab',
        'exec',
        '--lab',
        id,
        'main',
        '--',
        'nft',
        'list',
        'table',
        'inet',
        'convergent',
      );
      assert.equal(chains.code, 0, chains.stderr);
      assert.match(chains.stdout, /chain inbound-mapping \{/);
      // Twice: the second run's fixed-port flows meet the first run's in TIME_WAIT, and its limit
      // check counts the flows the first one left.
      for (let run = 1; run <= 2; run++) {
        const check = convergent('lab', 'check', id, '--json');
        assert.equal(check.code, 0, `run ${run}: ${check.stdout}${check.stderr}`);
        const report = JSON.parse(check.stdout) as { failed: number; passed: number; lab: string };
        assert.deepEqual([report.lab, report.failed, report.passed], [id, 0, 23]);
      }
      // A CGNAT lab is rebuilt, not changed in place: its spec is refused, and so is a cluster's.
      const apply = convergent('lab', 'apply', demo, '--lab', id);
      assert.equal(apply.code, 1);
      assert.match(
        apply.stderr,
        /error: this is a CGNAT spec \(kind: cgnat\); this command takes a cluster spec/,
      );
      const cluster = convergent('lab', 'apply', part4, '--lab', id);
      assert.equal(cluster.code, 2);
      assert.match(cluster.stderr, /a CGNAT lab is rebuilt: lab down, then lab up the changed spec/);
    } finally {
      const down = convergent('lab', 'down', id);
      assert.equal(down.code, 0, down.stderr);
    }
    assert.ok(!namespaces().includes(id), 'no namespace of the lab is left');
    assert.ok(!existsSync(labDir(id)));
  });

  test('a failing lab test exits 3 and prints the evidence', (t) => {
    if (!needsRoot(t)) return;
    const r = convergent('lab', 'test', part4, '--fault', 'stateless-after-conntrack');
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /A2 local state: curl via host -> guest1 +FAIL/);
    assert.match(
      r.stdout,
      /FAIL A2 local state: curl via host -> guest1 {2}\(checks\[1\], client port \d+\)/,
    );
    assert.match(
      r.stdout,
      /on the wire \(every node and the upstream, in time order\):\n +\+0\.000000 upstream/,
    );
    assert.match(r.stdout, /conntrack:\n +tcp .*dst=192\.168\.122\.11 .*\[UNREPLIED\]/);
    assert.match(r.stdout, /11 passed, 3 failed \(cluster part4 with fault stateless-after-conntrack/);
  });

  test('bad input: unknown fault is a usage error; a bad spec exits 1; nothing is created', (t) => {
    if (!needsRoot(t)) return;
    const before = namespaces();
    const fault = convergent('lab', 'test', part4, '--fault', 'nope');
    assert.equal(fault.code, 2);
    // Every fault named, in the order faults.ts declares them.
    assert.equal(
      fault.stderr,
      `convergent: unknown fault "nope"; faults: ${Object.keys(FAULTS).join(', ')}\n`,
    );
    assert.ok(Object.keys(FAULTS).includes('stateless-after-conntrack'));
    const missing = convergent('lab', 'test', join(EXAMPLES_DIR, 'missing.yaml'));
    assert.equal(missing.code, 1);
    assert.equal(namespaces(), before);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} during lab test removes the lab, stops its servers and says so`, async (t) => {
      if (!needsRoot(t)) return;
      // With this fault the crossed checks wait for their timeouts: the run is still busy when
      // the signal comes.
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', MAIN, 'lab', 'test', part3, '--fault', 'fullnat-without-snat'],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      const running = new Promise<void>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('servers listening')) resolve();
        });
      });
      await running;
      const id = /lab (cvg-\d+-[0-9a-f]{4}):/.exec(stderr)?.[1] as string;
      assert.ok(id, stderr);
      const state = JSON.parse(readFileSync(join(labDir(id), 'state.json'), 'utf8')) as { pids: number[] };
      assert.ok(state.pids.length > 0);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      child.kill(signal);
      // 128 + the signal's number, as a shell reports a command ended by it; and no failure reported.
      assert.equal(await exited, signal === 'SIGINT' ? 130 : 143, stderr);
      assert.ok(
        stderr.endsWith(`\nlab: interrupted by ${signal}; removed lab ${id} (nothing left)\n`),
        stderr,
      );
      assert.ok(!namespaces().includes(id), `namespaces of ${id} left:\n${namespaces()}`);
      assert.ok(!existsSync(labDir(id)), 'state directory removed');
      for (const pid of state.pids) assert.ok(!isAlive(pid), `server ${pid} stopped`);
    });
  }

  test('lab down <id> removes the leftovers of a crashed run; status shows them', (t) => {
    if (!needsRoot(t)) return;
    let dead = 4_000_000;
    while (isAlive(dead)) dead++;
    const leftover = `cvg-${dead}-beef`;
    for (const host of ['node1', 'guest1'])
      assert.equal(spawnSync('ip', ['netns', 'add', `${leftover}-${host}`]).status, 0);
    try {
      const status = convergent('lab', 'status');
      assert.match(status.stdout, new RegExp(`${leftover} {2}leftover of a crashed run\\n {2}2 namespaces`));
      const down = convergent('lab', 'down', leftover);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, new RegExp(`removed ${leftover} \\(leftover\\)`));
      assert.ok(!namespaces().includes(leftover));
    } finally {
      for (const host of ['node1', 'guest1']) spawnSync('ip', ['netns', 'del', `${leftover}-${host}`]);
    }
  });
});

describe('lab down --all', () => {
  test('takes every lab whose creating process is gone (lab up, crashed runs), never a run in progress', () => {
    const lab = (id: string, creatorAlive: boolean, state?: object) =>
      ({ id, namespaces: [`${id}-node1`], creatorAlive, state }) as LabEntry;
    const up = lab('cvg-10-aaaa', false, { cluster: 'part4' });
    const crashed = lab('cvg-11-bbbb', false);
    const running = lab('cvg-12-cccc', true, { cluster: 'part3' });
    assert.deepEqual(removableByAll([up, crashed, running]), [up, crashed]);
  });
});
