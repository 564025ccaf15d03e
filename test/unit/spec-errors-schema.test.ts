// What the schema rejects, in its words: every schema problem located, with a fix and no zod text.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { cgnatProblemsOf, problemsOf } from '../support/spec.ts';
import { BASE, variant } from '../support/spec-variant.ts';

// What the schema rejects, in the words of the spec: what the field must be, what it is, and a fix
// that shows the form. No zod text ("Invalid input: expected object, received array").
const SCHEMA_CASES: { name: string; from: string; to: string; expected: string[] }[] = [
  {
    name: 'a mapping written as a list',
    from: 'guests:\n  guest1: { node: node1, address: 10.5.5.201, mac: "52:54:00:00:00:01" }\n  guest2: { node: node2, address: 10.5.5.202, mac: "52:54:00:00:00:02" }\n',
    to: 'guests:\n  - { node: node1, address: 10.5.5.201 }\n',
    expected: [
      'cluster.yaml:16:3: error: guests must be a mapping of guests by name, not a list\n  fix: write it as guests: { guest1: { node: node1, address: 10.5.5.201 } }',
    ],
  },
  {
    name: 'a list written as a mapping',
    from: 'forwards:\n  - { port: 80, to: guest1 }\n  - { port: 2202, to: guest2, toPort: 22 }\n',
    to: 'forwards:\n  web: { port: 80, to: guest1 }\n',
    expected: [
      'cluster.yaml:19:3: error: forwards must be a list (- …), not a mapping\n  fix: write it as forwards: [{ port: 80, to: guest1 }]',
    ],
  },
  {
    name: 'a list where one value goes',
    from: 'name: t',
    to: 'name: [t]',
    expected: ['cluster.yaml:1:7: error: name must be a text, not a list\n  fix: write it as name: cluster1'],
  },
  {
    name: 'a port out of range',
    from: 'port: 2202',
    to: 'port: 99999',
    expected: [
      'cluster.yaml:20:13: error: ports end at 65535, not 99999\n  fix: use a whole number from 1 to 65535',
    ],
  },
  {
    name: 'a word where a number goes',
    from: 'port: 2202',
    to: 'port: ssh',
    expected: [
      'cluster.yaml:20:13: error: forwards[1].port must be a port number (1-65535), not "ssh"\n  fix: write a port number (1-65535)',
    ],
  },
  {
    name: 'a misspelt choice',
    from: 'name: t',
    to: 'name: t\nstrategy: fulnat',
    expected: [
      'cluster.yaml:2:11: error: strategy is "fulnat"; it is one of: fullnat, stateless, ctsync\n  fix: write strategy: fullnat',
    ],
  },
  {
    name: 'a prefix with host bits',
    from: 'subnet: 10.5.5.0/24',
    to: 'subnet: 10.5.5.1/24',
    expected: [
      'cluster.yaml:10:13: error: networks.guestnet.subnet is "10.5.5.1/24", not an IPv4 prefix with its host bits zero\n  fix: write 10.5.5.0/24 (the network of 10.5.5.1/24)',
    ],
  },
  {
    name: 'an address that is not one',
    from: 'address: 10.5.5.201',
    to: 'address: 10.5.5',
    expected: [
      'cluster.yaml:16:35: error: guests.guest1.address is "10.5.5", not an IPv4 address\n  fix: write an IPv4 address such as 192.168.122.11',
    ],
  },
  {
    name: 'a name of the wrong form',
    from: 'guest2: { node: node2',
    to: 'Guest_2: { node: node2',
    expected: [
      'cluster.yaml:17:3: error: guest names start with a lowercase letter and use only a-z, 0-9 and "-" (at most 31 characters)\n  fix: rename "Guest_2", e.g. to guest-2',
    ],
  },
  {
    name: 'true or false',
    from: '    pipes:',
    to: '    stp: yes please\n    pipes:',
    expected: [
      'cluster.yaml:13:10: error: networks.guestnet.stp must be true or false, not "yes please"\n  fix: write it as stp: true',
    ],
  },
  {
    name: 'a spec that is a list',
    from: BASE,
    to: '- name: t\n- uplink: {}\n',
    expected: [
      'cluster.yaml:1:1: error: the spec must be a mapping of fields (name: …, uplink: …, nodes: …), not a list\n  fix: start from an example: examples/part4-stateless.yaml (a cluster) or examples/cgnat-demo.yaml (kind: cgnat)',
    ],
  },
  {
    name: 'a YAML syntax error',
    from: '  gateway: 192.168.122.1',
    to: '  gateway: [192.168.122.1',
    expected: [
      'cluster.yaml:5:1: error: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]\n  fix: close the [ or { opened before here, and indent its continuation lines deeper than its key',
    ],
  },
];

describe('check: schema errors in the words of the spec, each with a fix', () => {
  for (const c of SCHEMA_CASES) {
    test(c.name, () => {
      const problems = problemsOf(variant(c.from, c.to));
      assert.deepEqual(problems, c.expected);
      for (const p of problems) assert.doesNotMatch(p, /Invalid input|received|Too (small|big)/);
    });
  }

  test('a text that is no YAML: ten syntax errors, then how many more', () => {
    const prose = Array.from({ length: 30 }, (_, i) => `Some prose, line ${i}: it has "colons: and quotes`);
    const problems = problemsOf(prose.join('\n'));
    assert.equal(problems.length, 11);
    assert.match(problems[0] as string, /^cluster\.yaml:1:\d+: error: YAML syntax: .+\n {2}fix: \S/);
    assert.match(
      problems[10] as string,
      /^cluster\.yaml:11:\d+: error: 20 more YAML syntax errors from here on\n {2}fix: fix the ones above first/,
    );
  });

  test('control characters from the spec are escaped in messages', () => {
    const problems = problemsOf(variant('name: t', 'name: t\n"\\e[2Jx\\0": 1'));
    assert.deepEqual(problems, [
      'cluster.yaml:2:1: error: unknown field "\\e[2Jx\\0"\n  fix: the fields allowed here are: kind, name, strategy, tagMacPrefix, uplink, interfaces, vlanPools, nodes, networks, guests, forwards, sync, marks, proxies, checks',
    ]);
  });
});

describe("check: a CGNAT spec's schema errors, in its own words and examples", () => {
  const DEMO = readFileSync(join(EXAMPLES_DIR, 'cgnat-demo.yaml'), 'utf8');
  const demo = (from: string, to: string) => {
    assert.ok(DEMO.includes(from), `fixture text not found: ${from}`);
    return cgnatProblemsOf(DEMO.replace(from, to));
  };

  test('one of two forms: a host, or a list of hosts', () => {
    assert.deepEqual(demo('from: blue_c2, to: 100.64.0.1,', 'from: 7, to: 100.64.0.1,'), [
      'cgnat.yaml:52:44: error: checks[1].from must be a host name, or a list ([…, …]), each a host name; not 7\n  fix: write it as from: acme_c1 (or several: [acme_c1, globex_c1])',
    ]);
  });

  test('the uplink of a CGNAT spec is shown as a CGNAT uplink', () => {
    const uplink = DEMO.slice(DEMO.indexOf('uplink:\n'), DEMO.indexOf('\nnat:'));
    assert.deepEqual(demo(uplink, 'uplink: []\n'), [
      'cgnat.yaml:13:9: error: uplink must be a mapping of fields (vrf: …, interface: …, addresses: …), not a list\n  fix: write it as uplink: { interface: wan, addresses: [198.51.100.2/24], gateways: [198.51.100.1] }',
    ]);
  });

  test('an interface name of the wrong form gets one of the right form', () => {
    assert.deepEqual(demo('interface: muplink', 'interface: "mup:link"'), [
      'cgnat.yaml:15:14: error: "mup:link": interface names use only letters, digits and "_", ".", "-"\n  fix: write it as mup-link',
    ]);
  });

  // The schema parses addresses, prefixes and the port range once; a form it cannot parse is still
  // each form's own words, and a union of parsed forms still names every form.
  test('a pool entry that is neither form names both', () => {
    assert.deepEqual(demo('pool: [100.64.0.1]', 'pool: [x]'), [
      'cgnat.yaml:20:10: error: nat.pool[0] must be an IPv4 address such as 100.64.0.1, or an IPv4 prefix with its host bits zero, such as 100.64.0.0/24; not "x"\n  fix: write an IPv4 address such as 100.64.0.1',
    ]);
  });

  test('a port range of the wrong form, and one that ends before it starts', () => {
    assert.deepEqual(demo('ports: 1024-65535', 'ports: x'), [
      'cgnat.yaml:21:10: error: nat.ports is "x", not a port range\n  fix: write a port range such as 1024-65535',
    ]);
    assert.deepEqual(demo('ports: 1024-65535', 'ports: 2000-1024'), [
      'cgnat.yaml:21:10: error: port range 2000-1024 is not within 1-65535 or ends before it starts\n  fix: e.g. 1024-65535',
    ]);
  });

  test("a check's address is checked in the same words", () => {
    assert.deepEqual(
      demo('to: 192.0.2.1, proto: ping, source: 192.0.2.2', 'to: 192.0.2.1, proto: ping, source: 192.0.2'),
      [
        'cgnat.yaml:51:123: error: checks[0].source is "192.0.2", not an IPv4 or IPv6 address such as 100.64.0.1 or 2001:db8:b:10::1\n  fix: write an IPv4 or IPv6 address such as 100.64.0.1 or 2001:db8:b:10::1',
      ],
    );
  });
});

describe('check: every schema problem has a fix and no zod text', () => {
  /** Every path of a plain YAML value: ["uplink"], ["uplink", "subnet"], ["forwards", 0], … */
  const paths = (o: unknown, at: (string | number)[] = []): (string | number)[][] =>
    o !== null && typeof o === 'object'
      ? Object.entries(o).flatMap(([k, v]) => {
          const p = [...at, Array.isArray(o) ? Number(k) : k];
          return [p, ...paths(v, p)];
        })
      : [];

  for (const [example, problemsOfText] of [
    ['part4-stateless.yaml', problemsOf],
    ['ganeti-seed.yaml', problemsOf],
    ['cgnat-demo.yaml', cgnatProblemsOf],
  ] as const) {
    test(`${example}: each field in turn replaced by a list, a mapping, a word, a large number`, () => {
      const spec = parse(readFileSync(join(EXAMPLES_DIR, example), 'utf8'));
      let count = 0;
      for (const path of paths(spec))
        for (const value of [[1], { a: 1 }, 'x y', 99999999]) {
          const changed = structuredClone(spec);
          let parent = changed;
          for (const part of path.slice(0, -1)) parent = parent[part];
          parent[path.at(-1) as string | number] = value;
          for (const p of problemsOfText(stringify(changed))) {
            count++;
            assert.match(p, /^\S+\.yaml:\d+:\d+: error: .+\n {2}fix: \S.*$/, p);
            assert.doesNotMatch(p, /Invalid (input|option|key)|received|Too (small|big)|Unrecognized/, p);
          }
        }
      assert.ok(count > 100, `${count} problems`);
    });
  }
});
