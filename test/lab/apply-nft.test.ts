// apply's nft part with real nft in a throwaway namespace holding part3-fullnat's node2 (three
// tables: ip, netdev on eth1.100, bridge guest ports) and someone else's inet table: a first load
// replaces convergent's tables, the same plan again changes nothing, a plan that differs in
// elements only is `add/delete element` lines that keep rules, counters and conntrack, a structural
// change keeps what `nic up` plugged, drift is found, and a snapshot restores the tables.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Change } from '../../src/apply/change.ts';
import type { Desired } from '../../src/apply/desired.ts';
import { apply as engineApply, rollback as engineRollback, type Hooks } from '../../src/apply/engine.ts';
import { nftPart, runNftChanges } from '../../src/apply/nft/part.ts';
import type { HostIO } from '../../src/apply/part.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { realRunner, runChecked } from '../../src/lab/run.ts';
import { desiredOfSpec, FOREIGN, inNamespace, nft } from '../support/apply-nft.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

/** part3-fullnat without its checks (they name the forwards the variants change). */
const SPEC = readFileSync(join(EXAMPLES_DIR, 'part3-fullnat.yaml'), 'utf8').split('\nchecks:')[0] as string;
const NODE = 'node2';
const FORWARDS = '  - { proto: udp, port: 123, to: guest1 }   # NTP-like request/response (use case U3)\n';
const withSpec = (from: string, to: string) => {
  assert.ok(SPEC.includes(from), from);
  return SPEC.replace(from, to);
};
/** One forward more. */
const ADDED = withSpec(FORWARDS, `${FORWARDS}  - { port: 2300, to: guest2, toPort: 22 }\n`);
/** A map value changed (2201 now to guest2), one forward removed (udp/123). */
const CHANGED = withSpec(FORWARDS, '').replace(
  '{ port: 2201, to: guest1, toPort: 22 }',
  '{ port: 2201, to: guest2, toPort: 22 }',
);
/** The guests without MACs: no guest-ports table on any node. */
const NO_PORTS = SPEC.replace(', mac: "52:54:00:05:05:c9"', '').replace(', mac: "52:54:00:05:05:ca"', '');

const part = nftPart();
let nsRun: NamespaceRun;
let scratch: string;
let io: HostIO;
let cases = 0;

/** A fresh namespace with the node's device and the foreign table, and an empty state dir. */
function fresh(): HostIO {
  cases += 1;
  const ns = nsRun.add(`node${cases}`);
  runChecked(realRunner, [
    'ip',
    '-n',
    ns,
    'link',
    'add',
    'eth1.100',
    'type',
    'veth',
    'peer',
    'name',
    'peer0',
  ]);
  const run = inNamespace(ns);
  runChecked(run, ['nft', '-f', '-'], { input: FOREIGN });
  return { run, root: '/', stateDir: join(scratch, `state${cases}`) };
}

function apply(desired: Desired): Change[] {
  const changes = part.changes(io, part.read(io), desired);
  runNftChanges(io.run, changes);
  part.record(io, desired);
  return changes;
}

/** What `nic up` adds for a tap (by hand here): the port's MAC and its anti-spoofing jump. */
const PLUGGED = `add element bridge convergent_ports plugged { "tap7" }
add element bridge convergent_ports port_mac { "tap7" . 52:54:00:05:05:c9 }
add element bridge convergent_ports from_guest { "tap7" : jump antispoof }
`;
/** What `nic up` adds for a routed tap (by hand here): its plug, anti-spoofing and ARP source. */
const TAP_ROUTED = `add element inet convergent_routed plugged { "tap9" }
add element inet convergent_routed from_guest { "tap9" : jump antispoof }
add element arp convergent_arp arp_source { "tap9" : 192.0.2.1 }
`;
const portsElements = () =>
  ['plugged', 'port_mac', 'from_guest']
    .map((s) => nft(io.run, 'list', s === 'from_guest' ? 'map' : 'set', 'bridge', 'convergent_ports', s))
    .join('');

/** A conntrack entry of a connection through the node, with a mark. */
const CONNTRACK_ENTRY = [
  'conntrack',
  '-I',
  '-p',
  'tcp',
  '-s',
  '192.0.2.1',
  '-d',
  '192.168.122.12',
  '--sport',
  '40000',
  '--dport',
  '2201',
  '--state',
  'ESTABLISHED',
  '-t',
  '300',
  '-u',
  'ASSURED',
  '-m',
  '7',
] as const;
/** The entry's id, status and mark (its timeout counts down). */
const conntrackEntry = () =>
  runChecked(io.run, ['conntrack', '-L', '-o', 'id', '-p', 'tcp', '--dport', '2201']).replace(
    / \d+ ESTABLISHED/,
    ' ESTABLISHED',
  );

/** The pipe's egress chain drops ARP from the anycast gateway: a few requests sent, its counter. */
function countArpDrops(): number {
  runChecked(io.run, ['ip', 'link', 'set', 'peer0', 'up']);
  runChecked(io.run, ['ip', 'link', 'set', 'eth1.100', 'up']);
  runChecked(io.run, ['ip', 'addr', 'add', '10.5.5.254/24', 'dev', 'eth1.100']);
  io.run(['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.5.5.9']);
  return arpDrops();
}
const arpDrops = () =>
  Number(
    /arp saddr ip @anycast_gateways counter packets (\d+)/.exec(
      nft(io.run, 'list', 'chain', 'netdev', 'convergent', 'pipe-egress'),
    )?.[1],
  );

const inputOf = (changes: readonly Change[]) => changes.flatMap((c) => c.commands.map((x) => x.input ?? ''));
const tableHandles = () =>
  nft(io.run, '-j', '-t', 'list', 'tables')
    .match(/"name": "convergent[^"]*", "handle": \d+/g)
    ?.join(', ');

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'convergent-apply-nft-'));
  nsRun = new NamespaceRun();
});
after(() => {
  nsRun?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe("apply's nft part on real nft", () => {
  test('first load replaces convergent tables in one transaction; again: no change; the foreign table untouched', (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    const foreign = nft(io.run, 'list', 'table', 'inet', 'foreign');
    const first = apply(desiredOfSpec(SPEC, NODE));
    assert.equal(first.length, 1);
    assert.equal(first[0]?.action, 'add');
    assert.equal(first[0]?.commands.length, 1);
    assert.match(first[0]?.detail ?? '', /no record/);
    assert.doesNotMatch(inputOf(first).join(''), /flush ruleset|foreign/);
    const tables = nft(io.run, 'list', 'tables');
    for (const table of ['ip convergent', 'netdev convergent', 'bridge convergent_ports', 'inet foreign'])
      assert.ok(tables.includes(`table ${table}`), tables);
    assert.deepEqual(part.changes(io, part.read(io), desiredOfSpec(SPEC, NODE)), []);
    assert.equal(nft(io.run, 'list', 'table', 'inet', 'foreign'), foreign);
  });

  test('elements only: a forward added, a map value changed, one removed; rules, counters and conntrack kept', (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    apply(desiredOfSpec(SPEC, NODE));
    const handles = tableHandles();
    const dropped = countArpDrops();
    assert.ok(dropped > 0, 'the egress counter counted the ARP requests sent from the anycast gateway');
    runChecked(io.run, [...CONNTRACK_ENTRY]);
    const entry = conntrackEntry();
    for (const spec of [ADDED, CHANGED]) {
      const changes = apply(desiredOfSpec(spec, NODE));
      assert.equal(changes.length, 1);
      const lines = inputOf(changes).join('').trim().split('\n');
      for (const line of lines) assert.match(line, /^(add|delete) element ip convergent /);
      assert.equal(tableHandles(), handles);
      assert.equal(conntrackEntry(), entry);
      assert.ok(arpDrops() >= dropped, 'the counter went on from where it was');
    }
    const map = nft(io.run, 'list', 'map', 'ip', 'convergent', 'fullnat_forwards');
    assert.match(map, /tcp \. 2201 comment "[^"]*" : 10\.5\.5\.202 \. 22/);
    assert.doesNotMatch(map, /udp \. 123|2300/);
    assert.deepEqual(part.changes(io, part.read(io), desiredOfSpec(CHANGED, NODE)), []);
  });

  test('structure changed: one replace that keeps what nic up plugged; a stale table deleted', (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    apply(desiredOfSpec(SPEC, NODE));
    runChecked(io.run, ['nft', '-f', '-'], { input: PLUGGED });
    const plugged = portsElements();
    const changes = apply(desiredOfSpec(SPEC, NODE, ['private-forward-only']));
    assert.equal(changes.length, 1);
    assert.match(changes[0]?.detail ?? '', /structure changed: ~ table bridge convergent_ports/);
    assert.doesNotMatch(nft(io.run, 'list', 'table', 'bridge', 'convergent_ports'), /to_guest_output/);
    assert.equal(portsElements(), plugged);
    const gone = apply(desiredOfSpec(NO_PORTS, NODE));
    assert.match(gone[0]?.detail ?? '', /stale table bridge convergent_ports deleted/);
    assert.doesNotMatch(nft(io.run, 'list', 'tables'), /convergent_ports/);
    assert.match(nft(io.run, 'list', 'tables'), /table inet foreign/);
  });

  test('drift: a rule deleted by hand is found by the terse listing; an element by the full comparison', (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    const desired = desiredOfSpec(SPEC, NODE);
    apply(desired);
    nft(io.run, 'delete', 'element', 'ip', 'convergent', 'fullnat_forwards', '{ tcp . 2201 }');
    assert.deepEqual(part.changes(io, part.read(io), desired), [], 'apply does not list the elements');
    const full = nftPart({ elements: true });
    const found = full.changes(io, full.read(io), desired);
    assert.equal(found.length, 1);
    assert.match(found[0]?.detail ?? '', /fullnat_forwards \+1 -0/);
    runNftChanges(io.run, found);
    assert.deepEqual(full.changes(io, full.read(io), desired), []);
    const rule = /"chain": "nat-postrouting", "handle": (\d+)/.exec(
      nft(io.run, '-j', 'list', 'chain', 'ip', 'convergent', 'nat-postrouting'),
    );
    nft(io.run, 'delete', 'rule', 'ip', 'convergent', 'nat-postrouting', 'handle', rule?.[1] ?? '');
    const drift = part.changes(io, part.read(io), desired);
    assert.match(drift[0]?.detail ?? '', /changed on the host since the last apply: ~ table ip convergent/);
    runNftChanges(io.run, drift);
    part.record(io, desired);
    assert.deepEqual(full.changes(io, full.read(io), desired), []);
  });

  test('snapshot: the tables as they are, runtime elements included; applying it restores them', (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    apply(desiredOfSpec(SPEC, NODE));
    runChecked(io.run, ['nft', '-f', '-'], { input: PLUGGED });
    const before = nft(io.run, 'list', 'ruleset');
    const saved = part.snapshot(io, part.read(io), desiredOfSpec(SPEC, NODE));
    assert.equal(saved.nft?.kind, 'saved');
    apply(desiredOfSpec(NO_PORTS, NODE, ['private-forward-only']));
    assert.notEqual(nft(io.run, 'list', 'ruleset'), before);
    const restore = { ...desiredOfSpec(SPEC, NODE), ...saved } as Desired;
    apply(restore);
    assert.equal(nft(io.run, 'list', 'ruleset'), before);
  });

  test('routed: a nic-filled map with planned elements keeps the taps through an element change and a replace', (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    const routed = readFileSync(join(EXAMPLES_DIR, 'routed-flat.yaml'), 'utf8').split(
      '\nchecks:',
    )[0] as string;
    const internal = '{ mode: routed, trunk: eth2, subnet: 10.50.0.0/24, gateway: 10.50.0.1, router: node1 }';
    assert.ok(routed.includes(internal));
    apply(desiredOfSpec(routed, NODE));
    runChecked(io.run, ['nft', '-f', '-'], { input: TAP_ROUTED });
    const taps = () =>
      nft(io.run, 'list', 'map', 'arp', 'convergent_arp', 'arp_source').match(/"tap9" : \S+/g);
    assert.deepEqual(taps(), ['"tap9" : 192.0.2.1']);

    const moved = routed.replace(
      'gateway6: 2001:db8::1',
      'gateway6: 2001:db8::1\n    arpAddress: 192.0.2.253',
    );
    const element = apply(desiredOfSpec(moved, NODE));
    assert.match(element[0]?.what ?? '', /^elements of table arp convergent_arp$/);
    assert.match(
      nft(io.run, 'list', 'map', 'arp', 'convergent_arp', 'arp_source'),
      /"eth1" comment "[^"]*" : 192\.0\.2\.253/,
    );
    assert.deepEqual(taps(), ['"tap9" : 192.0.2.1']);

    // node2 becomes the internal network's router: new rules, and its uplink's element goes.
    const router = moved.replace(internal, internal.replace('router: node1', 'router: node2'));
    const replace = apply(desiredOfSpec(router, NODE));
    assert.match(replace[0]?.detail ?? '', /structure changed: .*~ table inet convergent_routed/);
    assert.doesNotMatch(nft(io.run, 'list', 'map', 'arp', 'convergent_arp', 'arp_source'), /"eth2"/);
    assert.deepEqual(taps(), ['"tap9" : 192.0.2.1']);
    assert.match(
      nft(io.run, 'list', 'map', 'inet', 'convergent_routed', 'from_guest'),
      /"tap9" : jump antispoof/,
    );
  });

  test('through the engine: an element apply awaiting confirmation, rolled back to the checkpoint, the tap kept', async (t) => {
    if (!needsRoot(t)) return;
    io = fresh();
    const hooks: Hooks = { say: () => {}, interrupted: () => undefined };
    const parts = [part];
    assert.equal((await engineApply(io, parts, desiredOfSpec(SPEC, NODE), hooks)).kind, 'applied');
    assert.equal((await engineApply(io, parts, desiredOfSpec(SPEC, NODE), hooks)).kind, 'unchanged');
    runChecked(io.run, ['nft', '-f', '-'], { input: PLUGGED });
    const before = nft(io.run, 'list', 'ruleset');
    const added = await engineApply(io, parts, desiredOfSpec(ADDED, NODE), hooks, {
      confirmWithinMs: 60_000,
    });
    assert.equal(added.kind, 'awaiting');
    assert.match(nft(io.run, 'list', 'map', 'ip', 'convergent', 'fullnat_forwards'), /tcp \. 2300/);
    assert.equal((await engineRollback(io, parts, hooks)).kind, 'rolled-back');
    assert.equal(nft(io.run, 'list', 'ruleset'), before);
    // The checkpoint brought back the record of the plan its tables were loaded from: the host
    // matches that plan, and one forward more is an element change again, not a replace.
    assert.deepEqual(part.changes(io, part.read(io), desiredOfSpec(SPEC, NODE)), []);
    assert.equal((await engineApply(io, parts, desiredOfSpec(SPEC, NODE), hooks)).kind, 'unchanged');
    const next = part.changes(io, part.read(io), desiredOfSpec(ADDED, NODE));
    assert.match(next[0]?.what ?? '', /^elements of table/);
    assert.equal(portsElements().includes('"tap7"'), true);
  });
});
