// The preflight: which Debian package brings each tool, what each lab needs, and what a machine
// without the tools gets: `lab test`/`lab up` refused with exit 4 and one apt-get line before anything
// exists, `convergent doctor` listing what is missing, and the lab tests failing (CI) or skipping
// with that line. The machine without the tools is simulated by a PATH that lacks them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  allNeeds,
  anyLabNeeds,
  cgnatNeeds,
  clusterNeeds,
  installLine,
  missingOf,
  REQUIREMENTS,
} from '../src/lab/preflight.ts';
import { LAB_ROOT } from '../src/lab/registry.ts';
import { realRunner } from '../src/lab/run.ts';
import { cgnatLabCheck } from '../src/systems/cgnat/lab/index.ts';
import type { CgnatLabState } from '../src/systems/cgnat/system.ts';
import { attach, prepare } from '../src/systems/cluster/lab/lab.ts';
import type { ClusterLabState } from '../src/systems/cluster/system.ts';
import { VM_ROOT } from '../src/vm/qemu.ts';
import { EXAMPLES_DIR } from './support/examples.ts';
import { pathWithout } from './support/path.ts';
import { needsRoot } from './support/root.ts';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const example = (name: string) => join(EXAMPLES_DIR, `${name}.yaml`);
const needs = (reasons: readonly { need: string }[]) => reasons.map((r) => r.need);

/** The packages .ci/run installs: its `packages=(…)` list. */
function ciPackages(): string[] {
  const text = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
  const list = /^packages=\(([^)]*)\)/m.exec(text)?.[1];
  assert.ok(list, '.ci/run has a packages=(…) list');
  return list.split(/\s+/).filter((p) => p !== '');
}

describe('preflight: the packages', () => {
  test(".ci/run and the README's Quick start install every package doctor can name, and no other", () => {
    const named = [...new Set(Object.values(REQUIREMENTS).map((r) => r.package))].sort();
    assert.deepEqual([...new Set(ciPackages())].sort(), named);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Commands'));
    const line = /^(?:apt-get update && )?apt-get install (?:-y )?(.+)$/m.exec(quickStart)?.[1];
    assert.ok(line, 'the Quick start has an apt-get install line');
    assert.deepEqual(line.split(' ').sort(), named);
  });

  test('one apt-get line, each package once, in the order of the needs', () => {
    assert.equal(
      installLine(['nft', 'ip', 'ss', 'conntrack']),
      'apt-get install nftables iproute2 conntrack',
    );
    assert.equal(
      installLine(['Debian kernel', 'static busybox']),
      'apt-get install linux-image-amd64 busybox-static',
    );
  });

  test('a lab needs HAProxy only for proxies, conntrackd only for ctsync, qemu only in the VM', () => {
    const of = (name: string, vm = false) => needs(clusterNeeds(prepare(example(name)).plans, vm));
    const part4 = of('part4-stateless');
    for (const tool of ['ip', 'nft', 'sysctl', 'conntrack', 'curl', 'ping', 'tcpdump', 'python3'])
      assert.ok(part4.includes(tool), tool);
    for (const tool of ['haproxy', 'conntrackd', 'qemu-system-x86_64', 'iperf3'])
      assert.ok(!part4.includes(tool));
    assert.ok(of('part3-fullnat').includes('haproxy'));
    assert.ok(!of('part3-fullnat').includes('conntrackd'));
    assert.ok(of('ring3-ctsync').includes('conntrackd') && of('ring3-ctsync').includes('unshare'));
    assert.ok(of('part4-stateless', true).includes('qemu-system-x86_64'));
    assert.ok(of('part4-stateless', true).includes('Debian kernel'));
    assert.ok(!needs(cgnatNeeds()).includes('curl'), 'the CGNAT lab has no http checks');
    assert.ok(needs(cgnatNeeds(true)).includes('static busybox'));
    // The proxy is named as the spec has it.
    const haproxy = clusterNeeds(prepare(example('part3-fullnat')).plans).find((r) => r.need === 'haproxy');
    assert.match(haproxy?.why ?? '', /^node1's reverse proxy \(.+\)$/);
    assert.deepEqual(new Set(needs(allNeeds())), new Set(Object.keys(REQUIREMENTS)));
  });

  test('missing: what PATH lacks, each once', () => {
    // A PATH of stand-in executables for every tool but nft and conntrack, whatever this machine has.
    const dir = mkdtempSync(join(tmpdir(), 'convergent-stubs-'));
    for (const need of needs(anyLabNeeds()).filter((n) => n !== 'nft' && n !== 'conntrack'))
      writeFileSync(join(dir, need), '#!/bin/sh\n', { mode: 0o755 });
    const saved = process.env.PATH;
    try {
      process.env.PATH = dir;
      assert.deepEqual(needs(missingOf([...anyLabNeeds(), ...anyLabNeeds()])), ['nft', 'conntrack']);
    } finally {
      process.env.PATH = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('preflight: a lab that is already up', () => {
  // lab check and lab apply attach to a running lab: its tools are checked there too, not only root.
  const common = {
    id: 'cvg-0-preflight',
    name: 'x',
    spec: '/nonexistent/spec.yaml',
    faults: [],
    created: '',
    hosts: {},
    pids: [],
    nextPort: 20000,
    notes: [],
  };
  const cluster: ClusterLabState = { ...common, kind: 'cluster', uplinkMacs: {} };
  const cgnat: CgnatLabState = { ...common, kind: 'cgnat', backend: 'netns' };
  test('attach (cluster) and cgnatLabCheck refuse with the apt-get line when a tool is missing', () => {
    const bare = pathWithout(['nft', 'conntrack']);
    const saved = process.env.PATH;
    try {
      process.env.PATH = bare.path;
      const p = prepare(example('part4-stateless'));
      assert.throws(() => attach(cluster, p, realRunner), {
        name: 'LabError',
        message: /the lab needs nft .*apt-get install/,
      });
      assert.throws(() => cgnatLabCheck(cgnat, () => {}), {
        name: 'LabError',
        message: /the lab needs nft .*apt-get install/,
      });
    } finally {
      process.env.PATH = saved;
      bare.remove();
    }
  });
});

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
    const file = join(ROOT, 'test', 'render-load.test.ts');
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
