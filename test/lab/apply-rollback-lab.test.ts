// A change that cuts a node off, applied with a confirm window to a lab node by `convergent apply`
// (the CLI, in the node's namespace, on the state the lab's own load left): it is rolled back by
// itself, and then every check of the lab passes again (issue 18). Once by the health check (a wrong
// uplink gateway), once by the watchdog (a wrong address that the gateway still answers: nobody
// confirms), once with apply killed halfway (SIGKILL: the watchdog alone is left to undo it).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PAUSE_ENV } from '../../src/apply/engine.ts';
import { readJournal } from '../../src/apply/state.ts';
import type { NamespaceRun } from '../../src/lab/netns.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { labUp, type Prepared, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { nodeIO } from '../../src/systems/cluster/lab/nodes.ts';
import { endWatchdogOf } from '../support/apply-rig.ts';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { quiet, tmp } from '../support/lab-examples.ts';
import { failedNames } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

const PART4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');

/** part4 with `edit` made to its text. */
function variant(name: string, edit: (text: string) => string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, edit(readFileSync(PART4, 'utf8')));
  return file;
}

const wrongGateway = () =>
  variant('wrong-gateway', (t) => t.replace(/gateway: 192\.168\.122\.1 .*/, 'gateway: 192.168.122.254'));
const wrongAddress = () =>
  variant('wrong-address', (t) =>
    t.replace('node1: { address: 192.168.122.11,', 'node1: { address: 192.168.122.111,'),
  );

describe('a change that cuts node1 off, applied with a confirm window, rolled back by itself', () => {
  let lab: LabInstance;
  let labRun: NamespaceRun;
  let p: Prepared;
  const argv = (args: string[]) => {
    const io = nodeIO(lab, 'node1');
    return [
      'netns',
      'exec',
      lab.ns('node1'),
      process.execPath,
      '--import',
      'tsx',
      MAIN,
      ...args,
      '--state',
      io.stateDir,
      ...(args.includes('--confirm') ? [] : ['--root', io.root]),
    ];
  };
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, NO_COLOR: '1', ...extra });

  before(async () => {
    if (process.getuid?.() !== 0) return;
    p = prepare(PART4);
    ({ lab, run: labRun } = await labUp(p, { progress: quiet }));
  });
  after(() => {
    if (lab) endWatchdogOf(nodeIO(lab, 'node1').stateDir);
    labRun?.cleanup();
  });

  /** Waits until no apply of node1 awaits confirmation or is unfinished (the watchdog rolled back). */
  async function settled(seconds: number): Promise<void> {
    const state = nodeIO(lab, 'node1').stateDir;
    for (let i = 0; i < seconds * 10 && readJournal(state) !== undefined; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(readJournal(state), undefined, 'the watchdog ended the apply');
  }

  async function checksPass(): Promise<void> {
    const report = await runChecks(lab, p, quiet);
    assert.deepEqual(failedNames(report), []);
  }

  test('a wrong uplink gateway: the health check fails, apply rolls back (exit 6)', async (t) => {
    if (!needsRoot(t)) return;
    const r = spawnSync('ip', argv(['apply', wrongGateway(), '--node', 'node1', '--confirm-within', '60s']), {
      encoding: 'utf8',
      env: env(),
    });
    assert.equal(r.status, 6, r.stdout + r.stderr);
    assert.match(r.stdout, /health check failed: the uplink gateway 192\.168\.122\.254/);
    await checksPass();
  });

  test('a wrong address the gateway still answers: not confirmed, the watchdog rolls back', async (t) => {
    if (!needsRoot(t)) return;
    const r = spawnSync('ip', argv(['apply', wrongAddress(), '--node', 'node1', '--confirm-within', '4s']), {
      encoding: 'utf8',
      env: env(),
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /confirm with `convergent apply --confirm` within 4 s/);
    await settled(20);
    await checksPass();
  });

  test('apply killed halfway (SIGKILL): the watchdog undoes what it did', async (t) => {
    if (!needsRoot(t)) return;
    const child = spawn('ip', argv(['apply', wrongAddress(), '--node', 'node1', '--confirm-within', '4s']), {
      env: env({ [PAUSE_ENV]: 'change-2' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    for (let i = 0; i < 300 && !err.includes('paused at change-2'); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(err, /paused at change-2/);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    await settled(30);
    await checksPass();
  });
});
