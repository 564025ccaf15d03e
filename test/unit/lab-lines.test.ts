// The lines the lab prints say what happened: counts in the singular for one, counts that add up, a
// summary of both halves of a --cut run, and faults refused on a spec they do nothing to.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { failures, formatReport } from '../../src/lab/report.ts';
import type { CheckResult, LabReport } from '../../src/lab/result.ts';
import { describeTopology, labTopology } from '../../src/systems/cluster/lab/topology.ts';
import { FAULTS, type Fault, faultsFor } from '../../src/systems/faults.ts';
import { readSpec } from '../../src/systems/registry.ts';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR, exampleFiles } from '../support/examples.ts';
import { clusterFromText } from '../support/spec.ts';

const ONE_NODE = `
name: one
strategy: stateless
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: xenbr0, ports: [eth0] }
nodes:
  node1: { address: 192.168.122.11, tag: 1 }
networks:
  guestnet: { bridge: guestbr0, subnet: 10.5.5.0/24, gateway: 10.5.5.254, nodes: { node1: 10.5.5.251 } }
guests:
  guest1: { node: node1, address: 10.5.5.201 }
forwards:
  - { port: 80, to: guest1 }
`;

/** A report of `checks` results, all passed, for the lines formatReport writes around them. */
function passing(names: readonly string[], extra: Partial<LabReport> = {}): LabReport {
  return {
    lab: 'cvg-1-abcd',
    cluster: 'one',
    faults: [],
    derived: false,
    passed: names.length,
    failed: 0,
    results: names.map((name) => ({
      name,
      source: 'checks[0]',
      proto: 'tcp',
      from: 'workstation',
      to: 'node1',
      passed: true,
      problems: [],
      clientPort: 20000,
    })),
    ...extra,
  };
}

describe('lab lines: one of a kind is singular', () => {
  test('a one-node cluster is "1 node", not "1 node(s)"', () => {
    const cluster = clusterFromText(ONE_NODE);
    const lines = describeTopology(cluster, labTopology(cluster));
    assert.equal(lines[1], 'upstream 192.168.122.1/24 on the uplink segment of 1 node');
  });

  test("conntrackd's figures: 1 sync packet, 1 flow", () => {
    const text = formatReport(
      passing(['a'], { sync: [{ node: 'node1', sent: 1, received: 2, injected: 1, injectFailed: 0 }] }),
    );
    assert.match(
      text,
      /\n {2}node1: 1 sync packet sent, 2 received; 1 flow from other nodes injected \(0 failed\)\n/,
    );
  });
});

describe('lab lines: the summary of a --cut run', () => {
  const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);
  const before = passing(['a', 'b', 'c']);

  test('it gives the checks before the cut, after it, and the connections held across it', () => {
    const one = passing(['a']);
    const failed = { ...(one.results[0] as CheckResult), passed: false, problems: ['no answer'] };
    const after: LabReport = { ...one, passed: 0, failed: 1, results: [failed] };
    const report: LabReport = {
      ...before,
      afterCut: {
        node: 'node1',
        report: after,
        established: [
          { name: 'a', survived: true },
          { name: 'b', survived: false, error: 'reset' },
        ],
      },
    };
    const text = formatReport(report);
    assert.equal(
      lastLine(text),
      'before the cut 3 passed, 0 failed; after cutting node1 off 0 passed, 1 failed, 1 of 2 held connections still answered (cluster one, lab cvg-1-abcd)',
    );
    // One summary: the run after the cut has none of its own.
    assert.equal(text.split('\n').filter((l) => l.includes(' passed, ')).length, 1, text);
    assert.equal(failures(report), 2);
  });

  test('a held connection lost is a failure, even when every check passed', () => {
    const report: LabReport = {
      ...before,
      afterCut: { node: 'node1', report: passing(['a']), established: [{ name: 'a', survived: false }] },
    };
    assert.match(lastLine(formatReport(report)) as string, /, 0 of 1 held connection still answered \(/);
    assert.equal(failures(report), 1);
    assert.equal(failures(before), 0);
  });
});

describe('lab lines: a fault the spec has nothing for is refused', () => {
  const convergent = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  const example = (name: string) => join(EXAMPLES_DIR, `${name}.yaml`);

  test('each example takes the faults of its strategy, networks and proxies; every fault fits some example', () => {
    const of = (name: string) => faultsFor(readSpec(example(name)));
    assert.deepEqual(of('part4-stateless'), [
      'stateless-after-conntrack',
      'stateless-reply-port-kept',
      'anycast-arp-leak',
    ]);
    assert.deepEqual(of('part3-fullnat'), ['fullnat-without-snat', 'proxy-from-anycast', 'anycast-arp-leak']);
    assert.deepEqual(of('part3-ctsync'), [
      'proxy-from-anycast',
      'ctsync-bridge-netfilter',
      'anycast-arp-leak',
    ]);
    assert.deepEqual(of('cgnat-demo'), ['cgnat-without-zones']);
    const used = new Set(exampleFiles().flatMap((f) => faultsFor(readSpec(f))));
    assert.deepEqual(
      Object.keys(FAULTS).filter((f) => !used.has(f as Fault)),
      [],
    );
  });

  test('lab test of a stateless spec with fullnat-without-snat: a usage error naming the faults it takes', () => {
    const r = convergent('lab', 'test', example('part4-stateless'), '--fault', 'fullnat-without-snat');
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(
      r.stderr,
      'convergent: fault fullnat-without-snat does nothing to part4: it needs a forward with strategy fullnat; faults for this spec: stateless-after-conntrack, stateless-reply-port-kept, anycast-arp-leak\n',
    );
    assert.equal(r.stdout, '');
  });

  test('lab up of a CGNAT spec with a cluster fault, and of a spec without proxies with proxy-from-anycast', () => {
    const cgnat = convergent('lab', 'up', example('cgnat-demo'), '--fault', 'anycast-arp-leak');
    assert.equal(cgnat.status, 2, cgnat.stderr);
    assert.match(
      cgnat.stderr,
      /^convergent: fault anycast-arp-leak does nothing to cgnat-demo: it needs a guest network with pipes between nodes; faults for this spec: cgnat-without-zones\n$/,
    );
    const proxy = convergent('lab', 'up', example('ring3-ctsync'), '--fault', 'proxy-from-anycast');
    assert.equal(proxy.status, 2, proxy.stderr);
    assert.match(
      proxy.stderr,
      /fault proxy-from-anycast does nothing to ring3ctsync: it needs a reverse proxy \(proxies:\); faults for this spec: ctsync-bridge-netfilter, anycast-arp-leak\n$/,
    );
  });
});
