// The preflight without root: which Debian package brings each tool (the same list as .ci/run and
// the README), what each lab needs, and a running lab's tools checked when a command attaches to it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  allNeeds,
  anyLabNeeds,
  cgnatNeeds,
  installLine,
  missingOf,
  REQUIREMENTS,
} from '../../src/lab/preflight.ts';
import { realRunner } from '../../src/lab/run.ts';
import { cgnatLabCheck } from '../../src/systems/cgnat/lab/index.ts';
import type { CgnatLabState } from '../../src/systems/cgnat/system.ts';
import { attach, prepare } from '../../src/systems/cluster/lab/lab.ts';
import { clusterNeeds } from '../../src/systems/cluster/lab/needs.ts';
import type { ClusterLabState } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { pathWithout } from '../support/path.ts';

const ROOT = join(import.meta.dirname, '..', '..');
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
