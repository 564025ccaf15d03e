// Checks that name a node by its relation to a guest ("host", "foreign", "host of guest1") mean the
// node the guest is on in this spec: after a migration the same checks name its new node. Rootless.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { formatHostRef } from '../../src/systems/cluster/checks.ts';
import { prepare } from '../../src/systems/cluster/lab/lab.ts';
import { defaultChecks } from '../../src/systems/cluster/lab/probes.ts';
import type { Check, Cluster, HostRef } from '../../src/systems/cluster/model.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { clusterFromText, problemsOf } from '../support/spec.ts';

const BASE = `name: t
uplink:
  subnet: 192.168.122.0/24
  gateway: 192.168.122.1
nodes:
  node1: { address: 192.168.122.11 }
  node2: { address: 192.168.122.12 }
  node3: { address: 192.168.122.13 }
networks:
  guestnet:
    subnet: 10.5.5.0/24
    gateway: 10.5.5.254
    nodes: { node1: 10.5.5.251, node2: 10.5.5.252, node3: 10.5.5.253 }
    pipes:
      - { node1: eth1.100, node2: eth1.100 }
      - { node2: eth2.100, node3: eth2.100 }
guests:
  guest1: { node: node1, address: 10.5.5.201 }
  guest2: { node: node2, address: 10.5.5.202 }
forwards:
  - { port: 80, to: guest1, nodes: [node1, node3] }
  - { port: 2202, to: guest2, toPort: 22 }
checks:
`;

const tmp = mkdtempSync(join(tmpdir(), 'convergent-check-hosts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The check at `index`, in words: where it dials and the nodes it expects. */
function nodesOf(cluster: Cluster, index: number) {
  const c = cluster.checks?.[index] as Check;
  const name = (r: Check['to'] | undefined) => (r?.kind === 'node' ? r.name : r?.kind);
  return {
    to: name(c.to),
    answers: name(c.expect.answers),
    sees: name(c.expect.sees),
    leaves: c.expect.leaves,
  };
}

describe('checks: "host" and "foreign" follow the guest', () => {
  const checks = [
    '  - { to: host, proto: tcp, port: 2202, expect: { leaves: host } }',
    '  - { to: foreign, proto: http, port: 80, expect: { answers: guest1, leaves: host } }',
    '  - { from: guest2, to: workstation, proto: tcp, port: 9000, expect: { sees: host, leaves: host } }',
    '  - { from: guest2, to: gateway, proto: arp, expect: { answers: host } }',
    '  - { from: guest1, to: host of guest2, proto: ping }',
  ].join('\n');
  const text = `${BASE}${checks}\n`;
  const moved = text
    .replace('guest2: { node: node2', 'guest2: { node: node3')
    .replace('guest1: { node: node1', 'guest1: { node: node3');

  test('before the move: the nodes the guests are on, and for "foreign" the first other node with the port', () => {
    const cluster = clusterFromText(text);
    assert.deepEqual(nodesOf(cluster, 0), {
      to: 'node2',
      answers: undefined,
      sees: undefined,
      leaves: 'node2',
    });
    // node2 does not forward tcp/80: the first other node that does is node3.
    assert.deepEqual(nodesOf(cluster, 1), {
      to: 'node3',
      answers: 'guest',
      sees: undefined,
      leaves: 'node1',
    });
    assert.deepEqual(nodesOf(cluster, 2), {
      to: 'workstation',
      answers: undefined,
      sees: 'node2',
      leaves: 'node2',
    });
    assert.deepEqual(nodesOf(cluster, 3).answers, 'node2');
    assert.deepEqual(nodesOf(cluster, 4).to, 'node2');
  });

  test('after guest1 and guest2 move to node3: the same checks name node3, and "foreign" node1', () => {
    const cluster = clusterFromText(moved);
    assert.deepEqual(nodesOf(cluster, 0), {
      to: 'node3',
      answers: undefined,
      sees: undefined,
      leaves: 'node3',
    });
    assert.deepEqual(nodesOf(cluster, 1), {
      to: 'node1',
      answers: 'guest',
      sees: undefined,
      leaves: 'node3',
    });
    assert.deepEqual(nodesOf(cluster, 2), {
      to: 'workstation',
      answers: undefined,
      sees: 'node3',
      leaves: 'node3',
    });
    assert.deepEqual(nodesOf(cluster, 3).answers, 'node3');
    assert.deepEqual(nodesOf(cluster, 4).to, 'node3');
  });

  test('"foreign" is a node that forwards the port to the check\'s guest, not to another', () => {
    // tcp/2202 leads to guest2 on node2 and to guest1 on node1 and node3.
    const split = BASE.replace(
      '  - { port: 2202, to: guest2, toPort: 22 }',
      '  - { port: 2202, to: guest2, toPort: 22, nodes: [node2] }\n  - { port: 2202, to: guest1, toPort: 22, nodes: [node1, node3] }',
    );
    const line = '  - { to: foreign, proto: tcp, port: 2202, expect: { answers: guest1, leaves: host } }\n';
    assert.deepEqual(nodesOf(clusterFromText(`${split}${line}`), 0).to, 'node3');
    const moved = split.replace('guest1: { node: node1', 'guest1: { node: node3');
    assert.deepEqual(nodesOf(clusterFromText(`${moved}${line}`), 0), {
      to: 'node1',
      answers: 'guest',
      sees: undefined,
      leaves: 'node3',
    });
  });

  test('a check without a name is named in the words of the spec, the same before and after a move', () => {
    const names = (t: string) => clusterFromText(t).checks?.map((c) => c.name);
    assert.deepEqual(names(text), [
      'tcp/2202 workstation -> host of guest2',
      'http/80 workstation -> foreign of guest1',
      'tcp/9000 guest2 -> workstation',
      'arp guest2 -> gateway',
      'ping guest1 -> host of guest2',
    ]);
    assert.deepEqual(names(moved), names(text));
  });
});

/** The flow a check sends, to find the check the lab derives for the same flow. */
const flowOf = (c: Check) =>
  `${formatHostRef(c.from)} ${formatHostRef(c.to)} ${c.proto === 'udp' ? 'udp' : c.proto === 'http' ? 'tcp' : c.proto}/${c.port}`;

/**
 * The spec's checks that have a derived twin (the same flow), with what each expects next to what
 * the lab derives for that flow from the strategy and where the guests are: they must agree.
 */
function againstDerived(cluster: Cluster) {
  const derived = new Map(defaultChecks(cluster).map((c) => [flowOf(c), c]));
  const pairs: { name: string; spec: Record<string, unknown>; derived: Record<string, unknown> }[] = [];
  for (const c of cluster.checks ?? []) {
    const twin = derived.get(flowOf(c));
    if (!twin) continue;
    const fields = (['answers', 'sees', 'leaves'] as const).filter((k) => c.expect[k] !== undefined);
    const pick = (x: Check) =>
      Object.fromEntries(
        fields.map((k) => [
          k,
          typeof x.expect[k] === 'string' ? x.expect[k] : formatHostRef(x.expect[k] as HostRef),
        ]),
      );
    pairs.push({ name: c.name, spec: pick(c), derived: pick(twin) });
  }
  return pairs;
}

describe('checks: every example holds after any one guest migrates', () => {
  const examples = readdirSync(EXAMPLES_DIR).filter(
    (f) => f.endsWith('.yaml') && !readFileSync(join(EXAMPLES_DIR, f), 'utf8').includes('kind: cgnat'),
  );
  for (const file of examples) {
    test(file, () => {
      const original = parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as {
        nodes: Record<string, unknown>;
        guests: Record<string, { node: string }>;
        checks?: unknown[];
      };
      const count = prepare(join(EXAMPLES_DIR, file)).probes.length;
      for (const [guest, g] of Object.entries(original.guests)) {
        for (const node of Object.keys(original.nodes).filter((n) => n !== g.node)) {
          const spec = structuredClone(original);
          (spec.guests[guest] as { node: string }).node = node;
          const path = join(tmp, `${file}-${guest}-${node}.yaml`);
          writeFileSync(path, stringify(spec));
          // Valid, with a probe for every check: nothing names a node the guest has left.
          const p = prepare(path);
          assert.equal(p.probes.length, count, `${guest} on ${node}`);
          // What each check expects of the nodes is what the lab derives for the moved spec.
          const pairs = againstDerived(p.cluster);
          // Checks derive from gateway networks' guests; a spec of bridged networks alone has no twins.
          if (original.checks && p.cluster.networks.length > 0)
            assert.ok(pairs.length >= 8, `${pairs.length} checks compared`);
          for (const x of pairs) assert.deepEqual(x.spec, x.derived, `${x.name}, ${guest} on ${node}`);
        }
      }
    });
  }
});

// The check is on line 24, after BASE.
const check = (line: string) => `${BASE}${line}\n`;

describe('checks: misused "host" and "foreign" are located, with a fix', () => {
  const CASES: { name: string; text: string; expected: string[] }[] = [
    {
      name: 'a check with no guest of its own',
      text: check('  - { to: host, proto: ping }'),
      expected: [
        'cluster.yaml:24:11: error: "host" is the node hosting the check\'s guest, and no guest runs this check\'s client or answers it\n  fix: name the guest: "host of guest1", or name a node',
      ],
    },
    {
      name: 'a forwarded port that leads to two guests',
      text: check('  - { to: foreign, proto: tcp, port: 2202 }').replace(
        '  - { port: 2202, to: guest2, toPort: 22 }',
        '  - { port: 2202, to: guest2, toPort: 22, nodes: [node2] }\n  - { port: 2202, to: guest1, toPort: 22, nodes: [node1, node3] }',
      ),
      expected: [
        'cluster.yaml:25:11: error: "foreign" is a node not hosting the check\'s guest, and tcp/2202 leads to guest2 and guest1\n  fix: say which: "foreign of guest2", or add expect: { answers: guest2 }',
      ],
    },
    {
      name: '"foreign" where no other node forwards the port',
      text: check('  - { to: foreign, proto: http, port: 80 }').replace(
        'nodes: [node1, node3]',
        'nodes: [node1]',
      ),
      expected: [
        'cluster.yaml:24:11: error: no node but node1, which hosts guest1, forwards tcp/80 to it: "foreign" has none to dial\n  fix: forward tcp/80 to guest1 on another node too, or dial "host"',
      ],
    },
    {
      name: '"host of" an unknown guest',
      text: check(
        '  - { from: guest1, to: workstation, proto: tcp, port: 9000, expect: { leaves: host of guest9 } }',
      ),
      expected: ['cluster.yaml:24:80: error: unknown guest "guest9"\n  fix: known guests: guest1, guest2'],
    },
    {
      name: 'a client on "host"',
      text: check('  - { from: host, to: workstation, proto: ping }'),
      expected: [
        'cluster.yaml:24:13: error: the lab runs clients on the workstation and on guests, not on "host" (a node)\n  fix: use from: workstation, or a guest',
      ],
    },
    {
      name: 'a node named "host"',
      text: BASE.replace('checks:\n', '').replace(/node3/g, 'host'),
      expected: [
        'cluster.yaml:8:3: error: "host" is a word checks use for the node hosting a guest\n  fix: rename the node, e.g. node-host',
      ],
    },
  ];
  for (const c of CASES) {
    test(c.name, () => {
      assert.deepEqual(problemsOf(c.text), c.expected);
    });
  }

  test('the fixes, applied as written, are valid', () => {
    assert.deepEqual(problemsOf(check('  - { to: host of guest1, proto: ping }')), []);
    assert.deepEqual(problemsOf(check('  - { to: foreign of guest2, proto: tcp, port: 2202 }')), []);
    assert.deepEqual(problemsOf(check('  - { from: guest1, to: workstation, proto: ping }')), []);
  });
});
