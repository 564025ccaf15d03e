// The CGNAT demo in the lab: every ping of its README and the catalogue's F29-F32 pass on the netns
// backend on this kernel and on the vrf backend in the VM lab, with each client's public port inside
// the block the formula gives, and `cgnat lookup` naming the client from the port the uplink saw.
// Without conntrack zones (the demo's ruleset) the second tenant's identical flow fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { textOf } from '../../src/host/files.ts';
import type { CheckResult, LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import { compileCgnat } from '../../src/systems/cgnat/compile/index.ts';
import { cgnatLabTest } from '../../src/systems/cgnat/lab/index.ts';
import { renderCgnat } from '../../src/systems/cgnat/render.ts';
import { pickKernels } from '../../src/vm/kernel.ts';
import { vmLabTest } from '../../src/vm/lab.ts';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot, needsVm } from '../support/root.ts';
import { cgnatFromText } from '../support/spec.ts';

const DEMO = join(EXAMPLES_DIR, 'cgnat-demo.yaml');
const CARRIER = join(EXAMPLES_DIR, 'cgnat-carrier.yaml');
const quiet = () => {};
const demo = () => cgnatFromText(readFileSync(DEMO, 'utf8'), DEMO);
const carrier = () => cgnatFromText(readFileSync(CARRIER, 'utf8'), CARRIER);
const byName = (r: LabReport, name: string) => {
  const found = r.results.find((x) => x.name === name);
  assert.ok(found, `no result "${name}" in ${r.results.map((x) => x.name).join(', ')}`);
  return found as CheckResult;
};
const F30 = 'F30 blue_c1 and red_c1, both 100.64.0.1:40000, reach 192.0.2.1:80 at once';
const F30_UDP = 'F30 the same over UDP';

function lookup(saw: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'cgnat', 'lookup', DEMO, saw], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** What the demo's acceptance needs of a report, whichever backend ran it. */
function assertDemo(report: LabReport): void {
  assert.equal(
    report.failed,
    0,
    report.results
      .filter((r) => !r.passed)
      .map((r) => `${r.name}: ${r.problems.join('; ')}`)
      .join('\n'),
  );
  assert.equal(report.passed, 23);
  // Identical tuples from two tenants, at once: two flows, each from its own block; the lookup of
  // the port the uplink saw names the right tenant.
  for (const name of [F30, F30_UDP]) {
    const blue = byName(report, `${name} [blue_c1]`);
    const red = byName(report, `${name} [red_c1]`);
    assert.equal(blue.clientPort, 40000);
    assert.equal(red.clientPort, 40000);
    const [bluePort, redPort] = [blue, red].map((r) => Number(r.saw?.split(':')[1]));
    assert.ok((bluePort as number) >= 2048 && (bluePort as number) <= 3071, `blue_c1's block: ${blue.saw}`);
    assert.ok((redPort as number) >= 18432 && (redPort as number) <= 19455, `red_c1's block: ${red.saw}`);
    assert.equal(
      lookup(blue.saw as string),
      'tenant blue subscriber 100.64.0.1: public 100.64.0.1 ports 2048-3071\n',
    );
    assert.equal(
      lookup(red.saw as string),
      'tenant red subscriber 100.64.0.1: public 100.64.0.1 ports 18432-19455\n',
    );
  }
  // IPv6 routed without NAT, both ways; 192.0.2.2 routed both ways; isolation.
  assert.equal(
    byName(report, 'F31 blue_c2 reaches red_c1 over IPv6 as itself').saw?.startsWith('2001:db8:b:10::2:'),
    true,
  );
  assert.equal(byName(report, 'F31 the uplink reaches red_c1 over IPv6').answered, 'red_c1');
  assert.equal(
    byName(report, 'F32 blue_c2 from 192.0.2.2 reaches 192.0.2.1:80 as itself').saw?.startsWith('192.0.2.2:'),
    true,
  );
  assert.equal(byName(report, 'F32 the uplink reaches blue_c2 at 192.0.2.2').answered, 'blue_c2');
  assert.equal(byName(report, "F29 red_c1 cannot reach blue_c2's 100.64.0.2").passed, true);
  // Endpoint-independent filtering: the uplink, from another port, reached blue_c1 at its mapping.
  const f33 = byName(report, 'F33 the uplink reaches blue_c1 through the UDP mapping it opened');
  assert.equal(f33.answered, 'blue_c1');
  assert.match(f33.replyFrom as string, /^100\.64\.0\.1:(\d+)$/);
  assert.match(
    byName(report, 'F34 blue_c2 holds at most 16 connections').answered as string,
    /^\d+ of \d+ flows/,
  );
}

describe('cgnat lab: the demo', () => {
  test('netns backend, on this kernel: every check passes', async (t) => {
    if (!needsRoot(t)) return;
    const lines: string[] = [];
    const report = await cgnatLabTest(demo(), { progress: (l) => lines.push(l), backend: 'netns' });
    assertDemo(report);
    // The count announced is the count reported: a check from two clients gives two results.
    const announced = lines.find((l) => l.startsWith('running '));
    assert.equal(
      announced,
      'running 21 checks, 23 results (a check run from several clients at once gives one per client)',
    );
    assert.equal(report.passed + report.failed, 23);
    assert.deepEqual(
      realRunner(['ip', 'netns', 'list'])
        .stdout.split('\n')
        .filter((l) => l.includes(report.lab)),
      [],
      'no namespace of the run is left',
    );
  });

  test("without conntrack zones (the demo's ruleset) the second tenant's flow fails; the compiled ruleset has them", async (t) => {
    if (!needsRoot(t)) return;
    const report = await cgnatLabTest(demo(), {
      progress: quiet,
      backend: 'netns',
      faults: ['cgnat-without-zones'],
    });
    assert.deepEqual(report.faults, ['cgnat-without-zones']);
    // Whichever client comes second loses, at TCP and at UDP: its packets join the other's flow.
    const failed = report.results.filter((r) => !r.passed);
    assert.equal(failed.length, 2, failed.map((r) => r.name).join('\n'));
    for (const name of [F30, F30_UDP]) {
      const lost = [`${name} [blue_c1]`, `${name} [red_c1]`].filter((n) => !byName(report, n).passed);
      assert.equal(lost.length, 1, `${name}: one of the two tenants fails`);
    }
    // The evidence: one UDP entry for 100.64.0.1:40000 where there should be two, the winner's.
    const udpLoser = failed.find((r) => r.name.startsWith(F30_UDP)) as CheckResult;
    const udp = udpLoser.evidence?.nodes[0]?.conntrack.filter((l) =>
      /^udp .*src=100\.64\.0\.1 dst=192\.0\.2\.1 sport=40000 dport=5000 /.test(l),
    );
    assert.equal(udp?.length, 1, udp?.join('\n'));
    const winnerMark = udpLoser.name.endsWith('[red_c1]') ? 1 : 2;
    assert.match(
      udp?.[0] as string,
      new RegExp(` mark=${winnerMark} `),
      "the one entry is the other tenant's",
    );
    // The same spec compiled without the fault keys a zone per tenant in the first prerouting pass.
    const nft = renderCgnat(compileCgnat(demo())).find((f) => f.path === 'nftables.conf');
    assert.match(
      textOf(nft as NonNullable<typeof nft>),
      /type filter hook prerouting priority raw; policy accept;\n\t\tct original zone set iifname map @tenant_zone/,
    );
  });

  test('vrf backend, in the VM lab: the same checks pass with the same results', async (t) => {
    if (!needsVm(t)) return;
    const [kernel] = pickKernels([]);
    assert.ok(kernel);
    const c = demo();
    const report = await vmLabTest({ file: DEMO, plans: [compileCgnat(c)] }, { kernel, progress: quiet });
    assertDemo(report);
    const here = await cgnatLabTest(c, { progress: quiet, backend: 'netns' });
    // Who answered each check; a limit check's count depends on what earlier checks left in
    // conntrack, which the VM's slower run can let expire.
    const essence = (r: CheckResult) => [r.name, r.passed, r.name.startsWith('F34') ? '' : r.answered];
    assert.deepEqual(report.results.map(essence), here.results.map(essence));
  });
});

const port = (r: CheckResult, field: 'saw' | 'replyFrom' = 'saw') => Number(r[field]?.split(':').at(-1));
const HAIRPIN_UDP = 'UDP: globex_c1 reaches acme_c1 at its public address (hairpinning)';
const FILTERING = [
  'UDP: 192.0.2.3 reaches acme_c1 where it talked to 192.0.2.1',
  'TCP: 192.0.2.3 reaches globex_c1 where it talked to 192.0.2.1',
  HAIRPIN_UDP,
  'TCP: acme_c1 reaches acme_c2 at its public address (hairpinning)',
];

/** What the carrier example proves, whichever backend ran it. */
function assertCarrier(report: LabReport): void {
  const failed = report.results.filter((r) => !r.passed);
  assert.equal(failed.length, 0, failed.map((r) => `${r.name}: ${r.problems.join('; ')}`).join('\n'));
  assert.equal(report.passed, 14);
  // EIM: both destinations saw one public address and port, in acme_c1's block (203.0.113.10, 1664-1727).
  const eim = byName(report, "UDP: acme_c1's port 41000 keeps its public port to two hosts");
  assert.match(eim.saw as string, /^203\.0\.113\.10:(\d+)$/);
  assert.ok(port(eim) >= 1664 && port(eim) <= 1727, eim.saw);
  // Hairpinning: acme_c1 answered at its public address and saw globex_c1's (203.0.113.11, 2688-2751).
  const hairpin = byName(report, HAIRPIN_UDP);
  assert.equal(hairpin.answered, 'acme_c1');
  assert.match(hairpin.replyFrom as string, /^203\.0\.113\.10:/);
  assert.match(hairpin.saw as string, /^203\.0\.113\.11:/);
  assert.ok(port(hairpin) >= 2688 && port(hairpin) <= 2751, hairpin.saw);
  // The 64-port block is a hard limit: every flow in the block, the one past it dropped.
  const limit = byName(report, 'acme_c2 gets 64 UDP flows, its block, and no more');
  assert.match(limit.saw as string, /^203\.0\.113\.11:16\d\d-17\d\d$/);
}

describe('cgnat lab: NAT behaviours (the carrier example)', () => {
  test('netns backend: EIM, EIF and hairpinning for TCP and UDP, the port block limit', async (t) => {
    if (!needsRoot(t)) return;
    assertCarrier(await cgnatLabTest(carrier(), { progress: quiet, backend: 'netns' }));
  });

  test('with address-and-port-dependent filtering, nobody else gets in: no EIF, no hairpinning', async (t) => {
    if (!needsRoot(t)) return;
    // The spec would not validate (its checks expect filtering to let them in): the model is edited.
    const c = carrier();
    const strict = { ...c, nat: { ...c.nat, filtering: 'address-and-port-dependent' as const } };
    const report = await cgnatLabTest(strict, { progress: quiet, backend: 'netns' });
    const failed = report.results.filter((r) => !r.passed).map((r) => r.name);
    assert.deepEqual(failed.sort(), [...FILTERING].sort());
    for (const name of FILTERING) assert.match(byName(report, name).problems.join(), /^no answer: /);
  });

  test('vrf backend, in the VM lab: the same, across VRFs', async (t) => {
    if (!needsVm(t)) return;
    const [kernel] = pickKernels([]);
    assert.ok(kernel);
    const report = await vmLabTest(
      { file: CARRIER, plans: [compileCgnat(carrier())] },
      { kernel, progress: quiet },
    );
    assertCarrier(report);
  });
});
