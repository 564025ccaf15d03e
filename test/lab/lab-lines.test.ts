// The lines a real lab prints: conntrackd's label as its rendered file says, an interrupt told apart
// from a failure, and `lab status` of a CGNAT lab in a VM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FILES, type RenderedFile, textOf } from '../../src/host/files.ts';
import { labDir } from '../../src/lab/registry.ts';
import { describeSync } from '../../src/systems/cluster/features/ctsync/lab.ts';
import { labUp, prepare } from '../../src/systems/cluster/lab/lab.ts';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR, renderExample } from '../support/examples.ts';
import { needsRoot, needsVm } from '../support/root.ts';

describe('lab lines: conntrackd', () => {
  const rendered = (file: string) =>
    [...renderExample(file).values()].map((files) =>
      textOf(files.find((f) => f.path === FILES.conntrackd) as RenderedFile),
    );

  test('the label is what the rendered conntrackd.conf says: FTFW for two nodes, NOTRACK for three', () => {
    for (const conf of rendered(join(EXAMPLES_DIR, 'part3-ctsync.yaml')))
      assert.equal(describeSync(conf), 'FTFW, multicast 225.0.0.50:3780 on guestbr0');
    for (const conf of rendered(join(EXAMPLES_DIR, 'ring3-ctsync.yaml')))
      assert.equal(describeSync(conf), 'NOTRACK, multicast 225.0.0.50:3780 on guestbr0');
  });

  test('ring3-ctsync in the lab: "conntrackd running … (NOTRACK, …)", as its conntrackd.conf says', async (t) => {
    if (!needsRoot(t)) return;
    const lines: string[] = [];
    const { run } = await labUp(prepare(join(EXAMPLES_DIR, 'ring3-ctsync.yaml')), {
      progress: (l) => lines.push(l),
    });
    run.cleanup();
    assert.ok(
      lines.includes(
        'conntrackd running on node1, node2, node3 (NOTRACK, multicast 225.0.0.50:3780 on guestbr0)',
      ),
      lines.join('\n'),
    );
  });
});

describe('lab lines: an interrupt is not a failure', () => {
  test('Ctrl-C while lab test builds: "lab: interrupted", exit 130, no namespace or directory left', async (t) => {
    if (!needsRoot(t)) return;
    // Its own process group, so that the signal goes to it as a terminal's Ctrl-C does: to the CLI
    // and to the `ip` or `nft` its build step is waiting for.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'lab', 'test', join(EXAMPLES_DIR, 'ring3-ctsync.yaml')],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    const pid = child.pid as number;
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/: \d+ namespaces\n/.test(stderr)) resolve();
      });
      child.on('exit', () => reject(new Error(`lab test ended before building:\n${stderr}`)));
    });
    const id = /lab (cvg-\d+-[0-9a-f]{4}): /.exec(stderr)?.[1] as string;
    // The moment a build step's tool runs (the build is one step after another).
    while (spawnSync('pgrep', ['-P', String(pid), '-x', 'ip|nft|sysctl']).status !== 0)
      await new Promise((r) => setTimeout(r, 2));
    process.kill(-pid, 'SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.ok(stderr.endsWith(`\nlab: interrupted by SIGINT; removed lab ${id} (nothing left)\n`), stderr);
    assert.doesNotMatch(stderr, /failed|convergent lab:/);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!left.includes(id), `namespaces of ${id} left:\n${left}`);
    assert.ok(!existsSync(labDir(id)), 'the lab directory is removed');
  });
});

describe('lab lines: lab status', () => {
  const lab = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'lab', ...args], { encoding: 'utf8' });

  test('a CGNAT lab in a VM is "CGNAT …", not "cluster …"', (t) => {
    if (!needsVm(t)) return;
    const up = lab('up', join(EXAMPLES_DIR, 'cgnat-demo.yaml'), '--vm');
    assert.equal(up.status, 0, up.stderr);
    const id = /^lab (cvg-\d+-[0-9a-f]+) is up in a VM \(CGNAT cgnat-demo,/.exec(up.stdout)?.[1] as string;
    assert.ok(id, up.stdout);
    try {
      const status = lab('status', id);
      assert.match(
        status.stdout,
        new RegExp(
          `^${id} {2}CGNAT cgnat-demo from \\S+cgnat-demo\\.yaml, up since \\S+, in a VM \\(kernel `,
        ),
      );
    } finally {
      assert.equal(lab('down', id).status, 0);
    }
  });
});
