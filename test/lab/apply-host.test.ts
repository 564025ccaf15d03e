// The host part of apply on a real kernel, in throwaway namespaces: a node's ports (veths named as
// the spec's NICs and pipes, with fixed MACs) plus foreign objects as Docker or libvirt leave them
// (a bridge with an address, a proto static route, a rule and a routing table of their own). apply's
// changes reach what `sh network.sh` + `sysctl -p` make from the same start; a second read finds
// nothing to change; the foreign objects are the same before and after; a smaller plan deletes
// exactly what it dropped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Change, PARTS } from '../../src/apply/change.ts';
import { type Desired, desiredOf } from '../../src/apply/desired.ts';
import { hostPart, recordBeforeApply } from '../../src/apply/host/part.ts';
import type { HostIO } from '../../src/apply/part.ts';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { type Runner, realRunner } from '../../src/lab/run.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { FOREIGN } from '../support/host-recorded.ts';
import { needsRoot } from '../support/root.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-apply-host-'));
const run = new NamespaceRun();
after(() => {
  run.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** The node's plan, its Desired, and its network.sh and sysctl.d file written under scratch. */
function nodeOf(example: string, node: string) {
  const plan = compileCluster(readCluster(join(EXAMPLES_DIR, `${example}.yaml`))).find(
    (p) => p.node === node,
  ) as HostPlan;
  const files = renderNode(plan);
  const write = (path: string) => {
    const out = join(scratch, `${example}-${node}-${path.replaceAll('/', '-')}`);
    writeFileSync(out, textOf(files.find((f) => f.path === path) as (typeof files)[number]));
    return out;
  };
  const nft = textOf(files.find((f) => f.path === FILES.nftables) as (typeof files)[number]);
  return {
    plan,
    desired: desiredOf(plan, files, nft),
    script: write(FILES.networkScript),
    sysctl: write(FILES.sysctl),
  };
}

/** A fresh namespace holding the plan's ports and the foreign objects; its runner and state dir. */
function host(name: string, plan: HostPlan): HostIO {
  const ns = run.add(name);
  const runner: Runner = (argv, options) => realRunner(['ip', 'netns', 'exec', ns, ...argv], options);
  const nics = plan.links.filter((l) => l.kind === 'nic').map((l) => l.name);
  const ports = [...new Set([...nics, ...plan.bridges.flatMap((b) => b.ports)])];
  const setup = [
    ...ports.map(
      (p, i) =>
        `ip link add ${p} address 02:00:00:00:00:${hex(i)} type veth peer name peer${i} address 02:00:00:00:01:${hex(i)}`,
    ),
    ...FOREIGN,
  ];
  sh(runner, setup.join('\n'));
  const stateDir = join(scratch, name);
  sh(realRunner, `mkdir -p ${stateDir}`);
  return { run: runner, root: scratch, stateDir };
}

const hex = (i: number) => i.toString(16).padStart(2, '0');

const FOREIGN_STATE = [
  'ip -d -j link show dev virbr9',
  'ip -j address show dev virbr9',
  'ip -j route show table all dev virbr9',
  'ip -j -4 rule show pref 3000',
  'ip -j -6 rule show pref 3001',
].join('; echo; ');

function sh(runner: Runner, script: string): string {
  const r = runner(['sh', '-ec', script]);
  assert.equal(r.code, 0, `${script}\n${r.stderr}`);
  return r.stdout;
}

/** The engine's order: adds and changes part by part, then deletions in reverse. */
function applyAll(io: HostIO, changes: readonly Change[]): void {
  const adds = PARTS.flatMap((p) => changes.filter((c) => c.part === p && c.action !== 'delete'));
  const deletes = [...PARTS]
    .reverse()
    .flatMap((p) => changes.filter((c) => c.part === p && c.action === 'delete'));
  for (const c of [...adds, ...deletes])
    for (const cmd of c.commands) {
      const r = io.run(cmd.argv, { input: cmd.input });
      assert.equal(r.code, 0, `${c.what}: ${cmd.argv.join(' ')}: ${r.stderr}`);
    }
}

/** read, record, changes, apply, record: what the engine does around the host part. */
function apply(io: HostIO, desired: Desired): Change[] {
  const live = hostPart.read(io);
  const changes = hostPart.changes(io, live, desired);
  recordBeforeApply(io, live, desired);
  applyAll(io, changes);
  hostPart.record(io, desired);
  return changes;
}

const STATE = [
  'ip -d -j link',
  'ip -j address',
  'ip -j -4 route show table all',
  'ip -j -6 route show table all',
  'ip -j -4 rule',
  'ip -j -6 rule',
].join('; echo; ');

/** The dumps with what differs by itself removed: timers, counters, lifetimes, DAD's progress. */
function stable(text: string): unknown {
  const drop = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(drop);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => !k.endsWith('_timer') && !k.endsWith('_life_time') && k !== 'stats64')
          .filter(([k]) => k !== 'tentative' && k !== 'ifindex')
          .map(([k, x]) => [k, drop(x)]),
      );
    return v;
  };
  return text
    .split('\n\n')
    .filter((t) => t.trim() !== '')
    .map((t) => drop(JSON.parse(t)));
}

const sysctlValues = (io: HostIO, desired: Desired) =>
  sh(io.run, `for k in ${desired.sysctls.map((s) => s.key.join('/')).join(' ')}; do cat /proc/sys/$k; done`);

const EXAMPLES: [string, string][] = [
  ['part4-stateless', 'node1'],
  ['routed-flat', 'node1'],
  ['routed-flat', 'node2'],
  ['seed004-insert', 'node1'],
];

describe('apply, host part: from ports and foreign objects to the plan', () => {
  for (const [example, node] of EXAMPLES)
    test(`${example} ${node}: the state network.sh makes; again: nothing; foreign objects untouched`, (t) => {
      if (!needsRoot(t)) return;
      const { plan, desired, script, sysctl } = nodeOf(example, node);
      const io = host(`${example}-${node}-a`, plan);
      const reference = host(`${example}-${node}-r`, plan);
      const foreign = sh(io.run, FOREIGN_STATE);
      const changes = apply(io, desired);
      assert.ok(changes.length > 0);
      assert.ok(
        changes.every((c) => c.action !== 'delete'),
        changes.map((c) => c.what).join('\n'),
      );
      sh(reference.run, `sh ${script} >/dev/null; sysctl -q -p ${sysctl}`);
      assert.deepEqual(stable(sh(io.run, STATE)), stable(sh(reference.run, STATE)));
      assert.equal(sysctlValues(io, desired), sysctlValues(reference, desired));
      assert.deepEqual(hostPart.changes(io, hostPart.read(io), desired), []);
      assert.deepEqual(stable(sh(io.run, FOREIGN_STATE)), stable(foreign));
      // network.sh's state is apply's too: nothing to change there either.
      assert.deepEqual(hostPart.changes(reference, hostPart.read(reference), desired), []);
    });
});

/** The links, addresses and routes of a namespace, in short: "xenbr0 bridge", "xenbr0 192.168.122.11/24". */
function summary(io: HostIO): { links: string[]; addresses: string[]; routes: string[] } {
  const links = JSON.parse(sh(io.run, 'ip -d -j link')) as {
    ifname: string;
    master?: string;
    linkinfo?: { info_kind?: string };
  }[];
  const addrs = JSON.parse(sh(io.run, 'ip -j -4 address')) as {
    ifname: string;
    addr_info: { local: string; prefixlen: number }[];
  }[];
  const routes = JSON.parse(sh(io.run, 'ip -j -4 route show proto 241')) as {
    dst: string;
    gateway?: string;
  }[];
  return {
    links: links.map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? ''}${l.master ? ` in ${l.master}` : ''}`),
    addresses: addrs.flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)),
    routes: routes.map((r) => `${r.dst} via ${r.gateway}`),
  };
}

const line = (c: Change) => `${c.action} ${c.what}${c.detail === undefined ? '' : `: ${c.detail}`}`;

describe('apply, host part: a smaller plan deletes what it dropped, and only that', () => {
  test('part4 node1 readdressed, then without its guest bridge and its default route', (t) => {
    if (!needsRoot(t)) return;
    const { plan, desired } = nodeOf('part4-stateless', 'node1');
    const io = host('part4-smaller', plan);
    const foreign = sh(io.run, FOREIGN_STATE);
    apply(io, desired);

    // The uplink address moves within its subnet: the default route through it stays.
    const moved: Desired = {
      ...desired,
      addresses: desired.addresses.map((a) =>
        a.cidr === '192.168.122.11/24' ? { ...a, cidr: '192.168.122.12/24' } : a,
      ),
    };
    assert.deepEqual(apply(io, moved).map(line), [
      'change addresses dev xenbr0: 192.168.122.11/24 -> 192.168.122.12/24',
      'change route default: again: the addresses of xenbr0 change',
    ]);
    assert.deepEqual(summary(io).routes, ['default via 192.168.122.1']);
    assert.ok(summary(io).addresses.includes('xenbr0 192.168.122.12/24'));
    assert.deepEqual(hostPart.changes(io, hostPart.read(io), moved), []);

    const smaller: Desired = {
      ...moved,
      bridges: moved.bridges.filter((b) => b.name !== 'guestbr0'),
      addresses: moved.addresses.filter((a) => a.dev !== 'guestbr0'),
      routes: [],
      sysctls: moved.sysctls.filter((s) => !s.key.includes('guestbr0')),
    };
    const changes = apply(io, smaller);
    assert.deepEqual(changes.map(line), [
      'delete bridge guestbr0: no longer in the spec',
      'delete address 10.5.5.254/24 dev guestbr0',
      'delete address 10.5.5.251/24 dev guestbr0',
      'delete route default',
    ]);
    const after = summary(io);
    assert.deepEqual(after.routes, []);
    assert.ok(!after.links.some((l) => l.startsWith('guestbr0 ')), after.links.join('\n'));
    assert.ok(after.links.includes('eth1.100 veth'), 'a port is never deleted with its bridge');
    assert.ok(after.links.includes('xenbr0 bridge'));
    assert.deepEqual(after.addresses.filter((a) => !a.startsWith('lo ')).sort(), [
      'virbr9 172.31.0.1/24',
      'xenbr0 192.168.122.12/24',
    ]);
    assert.deepEqual(hostPart.changes(io, hostPart.read(io), smaller), []);
    assert.deepEqual(stable(sh(io.run, FOREIGN_STATE)), stable(foreign));
  });
});

describe('apply, host part: rules network.sh made before the protocol marked them', () => {
  test("routed-flat node2: an unmarked copy of a plan's rule is replaced by ours; another rule at its preference stays", (t) => {
    if (!needsRoot(t)) return;
    const { plan, desired } = nodeOf('routed-flat', 'node2');
    const io = host('routed-unmarked', plan);
    sh(io.run, 'ip rule add pref 1000 iif eth1 lookup 500; ip rule add pref 1000 iif eth1 lookup 77');
    apply(io, desired);
    const at1000 = (
      JSON.parse(sh(io.run, 'ip -N -4 -j rule show pref 1000')) as { table: string; protocol?: string }[]
    )
      .map((r) => `${r.table} ${r.protocol ?? '-'}`)
      .sort();
    assert.deepEqual(at1000, ['500 241', '77 -']);
    assert.deepEqual(hostPart.changes(io, hostPart.read(io), desired), []);
  });
});
