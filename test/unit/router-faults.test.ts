// The seed's failed iterations as faults (systems/faults.ts): each changes exactly what it says in
// the router node's plan and nothing else; transit-spoof changes no file, only what nic up plugs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HostPlan } from '../../src/host/plan.ts';
import { ruleCommand } from '../../src/host/routing.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { type Exec, nicUp } from '../../src/systems/cluster/nic/index.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { chain, rulesOf, SEED004 } from '../support/router.ts';
import { clusterFromText } from '../support/spec.ts';

const cluster = clusterFromText(SEED004);
const node1 = (faults: Fault[] = []) => compileCluster(cluster, { faults })[0] as HostPlan;
const clean = node1();

/** The plan without its ruleset, rules and fault lines: what a ruleset-only fault must leave alone. */
const hostPart = (p: HostPlan) => ({
  ...p,
  ruleset: undefined,
  rules: undefined,
  faults: [],
  faultDescriptions: {},
});
const chainNames = (p: HostPlan) => p.ruleset.tables.flatMap((t) => t.chains.map((c) => c.name));
const setNames = (p: HostPlan) => p.ruleset.tables.flatMap((t) => t.sets.map((s) => s.name));
const without = (names: string[], drop: string[]) => names.filter((n) => !drop.includes(n));

describe('faults of seed 004', () => {
  test('no-notrack: the NOTRACK chain and its sets go, the steering rules stay (update 1)', () => {
    const p = node1(['no-notrack']);
    assert.deepEqual(chainNames(p), without(chainNames(clean), ['insert-notrack']));
    assert.deepEqual(
      setNames(p),
      without(setNames(clean), ['insert_bridges', 'insert_direct', 'insert_returns']),
    );
    assert.deepEqual(p.rules, clean.rules);
    assert.deepEqual(hostPart(p), hostPart(clean));
    assert.deepEqual(p.faults, ['no-notrack']);
  });

  test("notrack-one-side: only the guests' side is untracked (update 2)", () => {
    const p = node1(['notrack-one-side']);
    assert.deepEqual(rulesOf(p, 'insert-notrack'), [rulesOf(clean, 'insert-notrack')[0]]);
    assert.deepEqual(setNames(p), without(setNames(clean), ['insert_returns']));
    assert.deepEqual(p.rules, clean.rules);
    assert.deepEqual(hostPart(p), hostPart(clean));
  });

  test('mark-everything: a masked mark on all but the transit bridge and one fwmark rule replace the iif rules (strategy 1)', () => {
    const p = node1(['mark-everything']);
    assert.deepEqual(rulesOf(p, 'insert-mark'), [
      'iifname != "qbr-fw" meta mark set meta mark & 0xffffff7f | 0x00000080 comment "networks.tenant.insert: FAULT: all but the transit bridge"',
    ]);
    assert.equal(chain(p, 'insert-mark')?.base?.priority, -150);
    assert.deepEqual(
      p.rules.map((r) => ruleCommand(r).replace(/^.*; ip/, 'ip')),
      ['ip -4 rule add pref 2008 fwmark 0x00000080/0x00000080 lookup 100 protocol 241'],
    );
    // The NOTRACK pair is kept: only the steering differs.
    assert.deepEqual(rulesOf(p, 'insert-notrack'), rulesOf(clean, 'insert-notrack'));
    assert.deepEqual(hostPart(p), hostPart(clean));
  });

  test('the faults change nothing on the node that only bridges', () => {
    const node2 = (faults: Fault[]) => compileCluster(cluster, { faults })[1] as HostPlan;
    const base = node2([]);
    for (const f of ['mark-everything', 'no-notrack', 'notrack-one-side', 'transit-spoof'] as Fault[])
      assert.deepEqual({ ...node2([f]), faults: [], faultDescriptions: {} }, base, f);
  });

  test('transit-spoof: no file changes; nic up plugs the transit NIC with anti-spoofing, and only it', () => {
    assert.deepEqual({ ...node1(['transit-spoof']), faults: [], faultDescriptions: {} }, clean);
    const plug = (ref: string, faults: Fault[]) => {
      const ran: string[] = [];
      const exec: Exec = (argv, stdin) => {
        ran.push(`${argv.join(' ')}${stdin === undefined ? '' : ` <<${stdin}`}`);
        const links = (stdin ?? '')
          .split('\n')
          .flatMap((l) => /^link show dev (\S+)$/.exec(l)?.[1] ?? [])
          .map((dev) => `${JSON.stringify([{ ifname: dev, mtu: 1500 }])}\n`);
        return { status: 0, stdout: links.join(''), stderr: '' };
      };
      return { line: nicUp(exec, cluster, 'node1', ref, 'tap9', { faults }).line, ran };
    };
    assert.match(plug('fw1:0', []).line, /no anti-spoofing \(spoof: allow\)/);
    const faulty = plug('fw1:0', ['transit-spoof']);
    assert.match(faulty.line, /anti-spoofing 52:54:00:07:ff:02 10\.7\.255\.2/);
    assert.ok(faulty.ran.some((l) => l.includes('from_guest { "tap9" : jump antispoof }')));
    // The appliance's management NIC and the tenant's guests are plugged as without the fault.
    assert.equal(plug('fw1:1', ['transit-spoof']).line, plug('fw1:1', []).line);
    assert.equal(plug('vm1', ['transit-spoof']).line, plug('vm1', []).line);
  });
});
