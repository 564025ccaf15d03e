// A machine without the lab's tools (simulated by a PATH that lacks them): `lab test`/`lab up` refused
// with exit 4 and one apt-get line before anything exists, `convergent doctor` listing what is missing,
// and the lab tests failing (CI) or skipping with that line. Root: the commands run for real.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LAB_ROOT } from '../../src/lab/registry.ts';
import { VM_ROOT } from '../../src/vm/qemu.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { pathWithout } from '../support/path.ts';
import { needsRoot } from '../support/root.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const example = (name: string) => join(EXAMPLES_DIR, `${name}.yaml`);

/** The CLI with PATH lacking `without`; the child's pid names its run (cvg-<pid>-…). */
function withoutTools(without: readonly string[], args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const bare = pathWithout(without);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', ...env, PATH: bare.path },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
  } finally {
    bare.remove();
  }
}

/** Nothing of the run exists: no namespace, no lab directory, no VM directory. */
function assertNothingCreated(pid: number | undefined): void {
  const prefix = `cvg-${pid}-`;
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!netns.includes(prefix), `a namespace of the run exists:\n${netns}`);
  for (const dir of [LAB_ROOT, VM_ROOT])
    assert.deepEqual(
      existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith(prefix)) : [],
      [],
      `a directory of the run in ${dir}`,
    );
}

const STACK = /^\s+at /m;

describe('preflight: a machine without the tools', () => {
  const refused = (r: ReturnType<typeof withoutTools>, line: string) => {
    assert.equal(r.code, 4, r.stderr);
    assert.doesNotMatch(r.stderr, STACK);
    assert.ok(r.stderr.includes(line), r.stderr);
    // One line, before any progress line: nothing was built and torn down again.
    assert.match(r.stderr, /^convergent lab: the lab needs [^\n]+\n$/);
    assertNothingCreated(r.pid);
  };

  test('lab test without nft, conntrack and tcpdump: exit 4, one apt-get line, nothing created', (t) => {
    if (!needsRoot(t)) return;
    const r = withoutTools(['nft', 'conntrack', 'tcpdump'], ['lab', 'test', example('part4-stateless')]);
    refused(r, 'install them: apt-get install nftables conntrack tcpdump');
    assert.match(r.stderr, /the lab needs nft \(loading each node's ruleset/);
  });

  test('lab up of a spec with proxies, without HAProxy: the proxy named, nothing created', (t) => {
    if (!needsRoot(t)) return;
    const r = withoutTools(['haproxy'], ['lab', 'up', example('part3-fullnat')]);
    refused(r, 'install it: apt-get install haproxy');
    assert.match(r.stderr, /haproxy \(node1's reverse proxy/);
  });

  test('a CGNAT spec, on this kernel and in the VM: the same refusal', (t) => {
    if (!needsRoot(t)) return;
    refused(withoutTools(['nft'], ['lab', 'test', example('cgnat-demo')]), 'apt-get install nftables');
    refused(
      withoutTools(['qemu-system-x86_64'], ['lab', 'up', example('cgnat-demo'), '--vm']),
      'install it: apt-get install qemu-system-x86',
    );
  });

  test('lab test --vm without qemu: refused before a VM boots', (t) => {
    if (!needsRoot(t)) return;
    const r = withoutTools(
      ['qemu-system-x86_64', 'nft'],
      ['lab', 'test', example('part4-stateless'), '--vm'],
    );
    refused(r, 'install them: apt-get install nftables qemu-system-x86');
  });

  test('doctor lists what is missing, probes the kernel in a namespace it removes, exits 4', (t) => {
    if (!needsRoot(t)) return;
    const r = withoutTools(['nft', 'conntrack'], ['doctor']);
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}MISSING +nft +nftables +loading each node's ruleset/m);
    assert.match(r.stdout, /^ {2}MISSING +conntrack +conntrack /m);
    assert.match(r.stdout, /^ {2}ok +ip +iproute2 /m);
    assert.match(r.stdout, /^ {2}ok +network namespaces$/m);
    assert.match(r.stdout, /^ {2}\? +nf_tables +not probed: needs nft$/m);
    assert.match(
      r.stdout,
      /^missing: nft, conntrack; install them with:\n {2}apt-get install nftables conntrack$/m,
    );
    assertNothingCreated(r.pid);
  });

  test('doctor FILE: only what that spec needs (HAProxy for proxies)', (t) => {
    if (!needsRoot(t)) return;
    const part4 = withoutTools(['haproxy'], ['doctor', example('part4-stateless')]);
    assert.equal(part4.code, 0, part4.stdout + part4.stderr);
    assert.doesNotMatch(part4.stdout, /haproxy/);
    assert.match(
      part4.stdout,
      /^everything the lab of .*part4-stateless\.yaml \(cluster part4\) on this kernel needs is here$/m,
    );
    const part3 = withoutTools(['haproxy'], ['doctor', example('part3-fullnat')]);
    assert.equal(part3.code, 4);
    assert.match(part3.stdout, /^ {2}MISSING +haproxy +haproxy +node1's reverse proxy/m);
    assert.match(part3.stdout, /^ {2}apt-get install haproxy$/m);
  });

  test('the lab tests: fail with the apt-get line under CI=true, skip with it otherwise', (t) => {
    if (!needsRoot(t)) return;
    const file = join(ROOT, 'test', 'lab', 'render-load.test.ts');
    const bare = pathWithout(['nft', 'conntrack']);
    t.after(bare.remove);
    const run = (ci: boolean) => {
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: bare.path };
      // Run as a test file of its own, not as a subtest of this one.
      delete env.NODE_TEST_CONTEXT;
      if (ci) env.CI = 'true';
      else delete env.CI;
      return spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
        cwd: ROOT,
        encoding: 'utf8',
        env,
      });
    };
    const ci = run(true);
    assert.notEqual(ci.status, 0);
    assert.match(
      ci.stdout,
      /error: ["']CI=true, so this test must run, not skip: the lab needs nft .*apt-get install nftables conntrack/,
    );
    assert.doesNotMatch(ci.stdout, /exec of "nft" failed|stack:/);
    assert.match(ci.stdout, /^# pass 0$/m);
    const local = run(false);
    assert.equal(local.status, 0, local.stdout);
    assert.match(local.stdout, /# SKIP the lab needs nft .*apt-get install nftables conntrack/);
    assert.match(local.stdout, /^# fail 0$/m);
    assert.doesNotMatch(local.stdout, /^# skipped 0$/m);
  });
});
