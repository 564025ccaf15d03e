// Issue 17 in the namespace lab, with real traffic: seed004-insert (a tenant network routed by node1
// with a floating IP and an SNAT address, the firewall fw1 inserted by policy routing, an HA pair's
// VRRP-like advertisement, fw1's management address) passes every check: outbound TCP and ICMP show
// the floating IP or the SNAT address at the workstation and pass fw1 both ways (its per-flow
// counters), inbound to the floating IP shows the client's address at the guest and passes fw1, the
// advertisement and the management address do not, and the replies through fw1 come with two hops
// more (TTL 60 against fw1's own 62). Each of the seed's failed iterations, as a fault, fails exactly
// what the seed reports. `lab apply` switches the insertion off and on with flows held open.
//
// mark-everything: only the management address fails. The seed also saw its VRRP steered; on Linux a
// link-local multicast packet is delivered locally before policy routing (ip_route_input_mc), so the
// mark's `ip rule fwmark` never sees it: the advertisement still passes here, and the test says so.
// notrack-one-side: TCP fails both ways and node1's conntrack holds the second pass's entry with a
// remapped port (the seed's symptom); ICMP passes here: the echo reply's second pass is no packet
// conntrack starts an entry with (invalid, and node1 drops no invalid packet), so it is not remapped.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { reservePorts } from '../../src/lab/ports.ts';
import { formatReport } from '../../src/lab/report.ts';
import type { CheckResult, LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import { applyToLab } from '../../src/systems/cluster/lab/apply.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { attach, labTest, labUp, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import type { Probe } from '../../src/systems/cluster/lab/probes.ts';
import { holdConnection } from '../../src/systems/cluster/lab/survival.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { failedNames, failures } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

const SEED004 = join(EXAMPLES_DIR, 'seed004-insert.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'convergent-insert-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const OUT_TCP = ['vm1 out as its floating IP', "vm2 out as the router's SNAT address"];
const OUT_PING = ['vm1 pings the workstation through fw1', 'vm2 pings the workstation through fw1'];
const INBOUND = ["the workstation reaches vm1's floating IP", 'ssh -p 2211 node1 -> vm2'];
const MANAGEMENT = "the appliance's management address";
const VRRP = "the HA pair's VRRP advertisement";

const sorted = (names: string[]) => [...names].sort();
const resultOf = (r: LabReport, name: string) => r.results.find((x) => x.name === name) as CheckResult;
const figure = (r: CheckResult, key: string) => Number(r.figures?.[key] ?? 0);

describe('seed004-insert in the namespace lab', () => {
  test('every check passes: the path through fw1 both ways, management and VRRP beside it', async (t) => {
    if (!needsRoot(t)) return;
    const report = await labTest(prepare(SEED004), { progress: () => {} });
    console.log(formatReport(report));
    assert.equal(report.failed, 0, failures(report));
    for (const name of [...OUT_TCP, ...OUT_PING, ...INBOUND]) {
      const r = resultOf(report, name);
      assert.ok(
        figure(r, 'fw1 original') > 0 && figure(r, 'fw1 reply') > 0,
        `${name}: ${JSON.stringify(r.figures)}`,
      );
    }
    for (const name of [MANAGEMENT, VRRP]) {
      const r = resultOf(report, name);
      assert.equal(
        figure(r, 'fw1 original') + figure(r, 'fw1 reply'),
        0,
        `${name}: ${JSON.stringify(r.figures)}`,
      );
    }
    assert.equal(resultOf(report, 'vm1 pings the workstation through fw1').figures?.ttl, 60);
    assert.equal(resultOf(report, 'fw1 pings the workstation directly').figures?.ttl, 62);
  });

  const faultRun = async (fault: string) => {
    const report = await labTest(prepare(SEED004, [fault as Fault]), { progress: () => {} });
    console.log(`fault ${fault}:\n${formatReport(report)}`);
    return report;
  };

  test('mark-everything: the management address is steered into fw1 and refused', async (t) => {
    if (!needsRoot(t)) return;
    const report = await faultRun('mark-everything');
    assert.deepEqual(failedNames(report), [MANAGEMENT], failures(report));
    // Steered into fw1's transit port, where its firewall refuses management.
    const r = resultOf(report, MANAGEMENT);
    assert.ok(figure(r, 'fw1 refused') > 0, JSON.stringify(r.figures));
    assert.match(r.problems.join('\n'), /appliance fw1 refused \d+ packets to its management port/);
  });

  test('no-notrack: outbound loses its SNAT, inbound still works', async (t) => {
    if (!needsRoot(t)) return;
    const report = await faultRun('no-notrack');
    assert.deepEqual(sorted(failedNames(report)), sorted([...OUT_TCP, ...OUT_PING]), failures(report));
    for (const name of INBOUND) assert.ok(resultOf(report, name).passed, name);
    // The SYN reaches the upstream with vm1's private address: the flow got no SNAT.
    const r = resultOf(report, 'vm1 out as its floating IP');
    const port = r.evidence?.clientPort;
    const wire = r.evidence?.wire ?? [];
    assert.ok(
      wire.some(
        (w) => w.includes(`upstream   uplink In`) && w.includes(`10.7.0.10.${port} > 198.51.100.10.9000`),
      ),
      wire.join('\n'),
    );
  });

  test('notrack-one-side: TCP fails both ways; node1 holds a second entry with a remapped port', async (t) => {
    if (!needsRoot(t)) return;
    const report = await faultRun('notrack-one-side');
    assert.deepEqual(sorted(failedNames(report)), sorted([...OUT_TCP, ...INBOUND]), failures(report));
    const r = resultOf(report, "the workstation reaches vm1's floating IP");
    const port = r.evidence?.clientPort;
    const node1 = r.evidence?.nodes.find((n) => n.node === 'node1')?.conntrack ?? [];
    // The second pass: the client's tuple toward the guest itself, its reply's port not the client's.
    const second = node1.find((l) => l.includes('dst=10.7.0.10 ') && l.includes(`sport=${port} `));
    assert.ok(second, node1.join('\n'));
    assert.doesNotMatch(second, new RegExp(`dport=${port} mark`), second);
  });

  test('transit-spoof: the checks through fw1 fail', async (t) => {
    if (!needsRoot(t)) return;
    const report = await faultRun('transit-spoof');
    assert.deepEqual(
      sorted(failedNames(report)),
      sorted([...OUT_TCP, ...OUT_PING, ...INBOUND]),
      failures(report),
    );
  });
});

/** seed004 with insert removed: the same checks, expecting no appliance and the direct path's TTL. */
function withoutInsert(): string {
  const text = readFileSync(SEED004, 'utf8')
    .replace(/\n\s+insert: fw1[^\n]*/, '')
    .replaceAll('through: fw1', 'through: none')
    .replaceAll('ttl: 60', 'ttl: 62');
  const file = join(tmp, 'seed004-no-insert.yaml');
  writeFileSync(file, text);
  return file;
}

/** Held TCP flows: each of the four outbound and inbound checks, twice. */
async function holdFlows(lab: LabInstance, probes: readonly Probe[]) {
  const tcp = probes.filter((p) => [...OUT_TCP, ...INBOUND].includes(p.check.name));
  const flows = [...tcp, ...tcp];
  const nextPort = reservePorts(lab.state, flows.length);
  return Promise.all(flows.map((p) => holdConnection(lab, p, nextPort())));
}

async function survivors(held: Awaited<ReturnType<typeof holdFlows>>): Promise<number> {
  let alive = 0;
  for (const h of held) {
    const again = await h.again();
    if (!h.opened.error && !again.error && again.answered === h.opened.answered) alive++;
    h.close();
  }
  return alive;
}

describe('lab apply switches the insertion', () => {
  test('off and on again: the path changes each time; held flows counted', async (t) => {
    if (!needsRoot(t)) return;
    const on = prepare(SEED004);
    const off = prepare(withoutInsert());
    const lines: string[] = [];
    const { lab: built, run } = await labUp(on, { progress: (l) => lines.push(l) });
    try {
      let lab = built;
      const first = await runChecks(lab, on, () => {});
      assert.equal(first.failed, 0, failures(first));

      let held = await holdFlows(built, on.probes);
      assert.ok(
        held.every((h) => !h.opened.error),
        held.map((h) => h.opened.error).join(', '),
      );
      await applyToLab(lab, off, (l) => lines.push(l));
      lab = attach(lab.state, off, realRunner);
      const offAlive = await survivors(held);
      const direct = await runChecks(lab, off, () => {});
      assert.equal(direct.failed, 0, `insert off:\n${failures(direct)}`);

      held = await holdFlows(built, off.probes);
      await applyToLab(lab, on, (l) => lines.push(l));
      lab = attach(lab.state, on, realRunner);
      const onAlive = await survivors(held);
      const through = await runChecks(lab, on, () => {});
      assert.equal(through.failed, 0, `insert on again:\n${failures(through)}`);
      console.log(
        `held flows across lab apply: insert off ${offAlive}/${held.length} survived, insert on ${onAlive}/${held.length} survived`,
      );
      console.log(lines.filter((l) => /routing changes|reloaded/.test(l)).join('\n'));
    } finally {
      run.cleanup();
    }
  });
});
