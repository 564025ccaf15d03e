// Every semantic error a user can make, with the exact message and location `convergent check` prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { generateSpec } from '../support/generate.ts';
import { cgnatProblemsOf, problemsOf } from '../support/spec.ts';

const BASE = `name: t
uplink:
  subnet: 192.168.122.0/24
  gateway: 192.168.122.1
nodes:
  node1: { address: 192.168.122.11 }
  node2: { address: 192.168.122.12 }
networks:
  guestnet:
    subnet: 10.5.5.0/24
    gateway: 10.5.5.254
    nodes: { node1: 10.5.5.251, node2: 10.5.5.252 }
    pipes:
      - { node1: eth1.100, node2: eth1.100 }
guests:
  guest1: { node: node1, address: 10.5.5.201, mac: "52:54:00:00:00:01" }
  guest2: { node: node2, address: 10.5.5.202, mac: "52:54:00:00:00:02" }
forwards:
  - { port: 80, to: guest1 }
  - { port: 2202, to: guest2, toPort: 22 }
`;

function variant(from: string, to: string): string {
  assert.ok(BASE.includes(from), `fixture text not found: ${from}`);
  return BASE.replace(from, to);
}

const CASES: { name: string; from: string; to: string; expected: string[] }[] = [
  {
    name: 'guest address outside its subnet',
    from: 'address: 10.5.5.201',
    to: 'address: 10.5.6.201',
    expected: [
      "cluster.yaml:16:35: error: guest guest1's address 10.5.6.201 is outside network guestnet (10.5.5.0/24)\n  fix: choose an address inside 10.5.5.0/24",
    ],
  },
  {
    name: 'node address outside the uplink subnet',
    from: 'node2: { address: 192.168.122.12 }',
    to: 'node2: { address: 192.168.123.12 }',
    expected: [
      "cluster.yaml:7:21: error: node node2's public address 192.168.123.12 is outside the uplink subnet (192.168.122.0/24)\n  fix: choose an address inside 192.168.122.0/24",
    ],
  },
  {
    name: 'broadcast address',
    from: 'address: 10.5.5.202',
    to: 'address: 10.5.5.255',
    expected: [
      "cluster.yaml:17:35: error: guest guest2's address 10.5.5.255 is the network or broadcast address of 10.5.5.0/24\n  fix: choose a host address inside 10.5.5.0/24",
    ],
  },
  {
    name: 'duplicate guest address',
    from: 'address: 10.5.5.202',
    to: 'address: 10.5.5.201',
    expected: [
      'cluster.yaml:17:35: error: address 10.5.5.201 is already used by guest guest1\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'duplicate node address',
    from: 'node2: { address: 192.168.122.12 }',
    to: 'node2: { address: 192.168.122.11 }',
    expected: [
      'cluster.yaml:7:21: error: address 192.168.122.11 is already used by node node1\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'duplicate MAC',
    from: '52:54:00:00:00:02',
    to: '52:54:00:00:00:01',
    expected: [
      "cluster.yaml:17:52: error: MAC 52:54:00:00:00:01 is already guest guest1's\n  fix: give every guest its own MAC address",
    ],
  },
  {
    name: 'guest MAC in the node-tag prefix',
    from: '52:54:00:00:00:02',
    to: '0a:54:00:00:00:02',
    expected: [
      'cluster.yaml:17:52: error: MAC 0a:54:00:00:00:02 starts with 0a:, the prefix of the nodes\' guest-bridge MACs; the pipes would take this guest for a node\n  fix: choose another first octet, or set "tagMacPrefix" to an octet no guest uses',
    ],
  },
  {
    name: 'duplicate node tag',
    from: 'node1: { address: 192.168.122.11 }\n  node2: { address: 192.168.122.12 }',
    to: 'node1: { address: 192.168.122.11, tag: 7 }\n  node2: { address: 192.168.122.12, tag: 7 }',
    expected: [
      'cluster.yaml:7:42: error: node tag 7 is already used by node node1\n  fix: give every node its own tag, or leave "tag" out to have one allocated',
    ],
  },
  {
    name: 'duplicate guest name',
    from: 'forwards:',
    to: '  guest1: { node: node2, address: 10.5.5.203 }\nforwards:',
    expected: [
      'cluster.yaml:18:3: error: "guest1" appears twice in the same mapping\n  fix: every name appears once: rename this one, e.g. to guest1-2, or merge the two',
    ],
  },
  {
    name: 'forward to an unknown guest',
    from: 'to: guest2',
    to: 'to: guest9',
    expected: [
      'cluster.yaml:20:23: error: forward to unknown guest "guest9"\n  fix: known guests: guest1, guest2',
    ],
  },
  {
    name: 'two forwards on the same public port and protocol',
    from: 'port: 2202',
    to: 'port: 80',
    expected: [
      'cluster.yaml:20:13: error: tcp/80 is already forwarded by forwards[0] on the same nodes\n  fix: use another public port, or split the nodes between the two forwards with "nodes:"',
    ],
  },
  {
    name: 'same port on disjoint nodes is fine, on overlapping nodes is not',
    from: '  - { port: 80, to: guest1 }',
    to: '  - { port: 80, to: guest1, nodes: [node1] }\n  - { port: 80, to: guest2, nodes: [node2] }\n  - { port: 80, to: guest2, nodes: [node2] }',
    expected: [
      'cluster.yaml:21:13: error: tcp/80 is already forwarded by forwards[1] on a node this forward also uses\n  fix: use another public port, or split the nodes between the two forwards with "nodes:"',
    ],
  },
  {
    name: 'a forward on every node clashes with a node-specific one on the same port',
    from: 'port: 2202, to: guest2',
    to: 'port: 80, to: guest2, nodes: [node2]',
    expected: [
      'cluster.yaml:20:13: error: tcp/80 is already forwarded by forwards[0] on a node this forward also uses\n  fix: use another public port, or split the nodes between the two forwards with "nodes:"',
    ],
  },
  {
    name: 'anycast gateway equal to a node address',
    from: 'node2: 10.5.5.252',
    to: 'node2: 10.5.5.254',
    expected: [
      'cluster.yaml:12:40: error: address 10.5.5.254 is already used by the anycast gateway of network guestnet\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'anycast gateway equal to a guest address',
    from: 'address: 10.5.5.202',
    to: 'address: 10.5.5.254',
    expected: [
      'cluster.yaml:17:35: error: address 10.5.5.254 is already used by the anycast gateway of network guestnet\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'uplink gateway equal to a node address',
    from: 'gateway: 192.168.122.1',
    to: 'gateway: 192.168.122.12',
    expected: [
      'cluster.yaml:7:21: error: address 192.168.122.12 is already used by the uplink gateway\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'interface name longer than 15 characters',
    from: 'node2: eth1.100 }',
    to: 'node2: eth1.100-averylongname }',
    expected: [
      'cluster.yaml:14:35: error: interface names are at most 15 characters long (the kernel limit, IFNAMSIZ)\n  fix: shorten "eth1.100-averylongname" (22 characters) to at most 15',
    ],
  },
  {
    name: 'guest on an unknown node',
    from: 'guest2: { node: node2',
    to: 'guest2: { node: node3',
    expected: [
      'cluster.yaml:17:19: error: guest guest2 is on unknown node "node3"\n  fix: known nodes: node1, node2',
    ],
  },
  {
    name: 'pipes forming a loop without STP',
    from: '      - { node1: eth1.100, node2: eth1.100 }',
    to: '      - { node1: eth1.100, node2: eth1.100 }\n      - { node1: eth2.100, node2: eth2.100 }',
    expected: [
      'cluster.yaml:15:9: error: the pipes of network guestnet form a loop; without STP the guest bridge floods frames around it forever\n  fix: set "stp: true" on networks.guestnet, or remove a pipe',
    ],
  },
  {
    name: 'stateless forwards that a reply cannot tell apart',
    from: '  - { port: 80, to: guest1 }',
    to: '  - { port: 80, to: guest1, strategy: stateless }\n  - { port: 8080, to: guest1, toPort: 80, strategy: stateless }',
    expected: [
      'cluster.yaml:20:13: error: stateless forwards[0] and forwards[1] both lead to guest1 tcp/80 from different public ports (80, 8080); a stateless reply cannot tell which one to answer from\n  fix: use one public port for both, or "strategy: fullnat" for one of them',
    ],
  },
  {
    name: 'unknown field, with the allowed ones',
    from: '  gateway: 192.168.122.1',
    to: '  gatway: 192.168.122.1',
    expected: [
      'cluster.yaml:3:3: error: missing required field "gateway" in uplink\n  fix: add "gateway:" here, e.g. gateway: 192.168.122.11',
      'cluster.yaml:4:3: error: unknown field "gatway" in uplink\n  fix: did you mean "gateway"? the fields allowed here are: subnet, gateway, bridge, ports',
    ],
  },
  {
    name: 'unknown field beside the one meant: no guess',
    from: '  gateway: 192.168.122.1',
    to: '  gateway: 192.168.122.1\n  gatway: 1',
    expected: [
      'cluster.yaml:5:3: error: unknown field "gatway" in uplink\n  fix: the fields allowed here are: subnet, gateway, bridge, ports',
    ],
  },
  {
    name: 'missing required field',
    from: '  subnet: 192.168.122.0/24\n',
    to: '',
    expected: [
      'cluster.yaml:3:3: error: missing required field "subnet" in uplink\n  fix: add "subnet:" here, e.g. subnet: 10.5.5.0/24',
    ],
  },
];

CASES.push({
  name: 'a field twice',
  from: 'guest2: { node: node2,',
  to: 'guest2: { node: node2, node: node1,',
  expected: [
    'cluster.yaml:17:26: error: field "node" appears twice in the same mapping\n  fix: every field appears once: remove one of the two',
  ],
});

CASES.push({
  name: 'an STP forward delay without STP',
  from: '    gateway: 10.5.5.254\n',
  to: '    gateway: 10.5.5.254\n    forwardDelay: 4\n',
  expected: [
    'cluster.yaml:12:19: error: forwardDelay applies to STP, which networks.guestnet does not run\n  fix: set "stp: true", or remove "forwardDelay"',
  ],
});

// Strategy ctsync: conntrackd's sync, and what it cannot share a cluster with.
CASES.push({
  name: 'sync without a ctsync forward',
  from: 'forwards:\n',
  to: 'sync: { group: 225.0.0.50 }\nforwards:\n',
  expected: [
    'cluster.yaml:18:1: error: sync configures conntrackd for strategy ctsync, which no forward uses\n  fix: remove "sync", or set "strategy: ctsync"',
  ],
});
CASES.push({
  name: 'ctsync and stateless in one cluster',
  from: 'forwards:\n  - { port: 80, to: guest1 }\n',
  to: 'strategy: ctsync\nforwards:\n  - { port: 80, to: guest1, strategy: stateless }\n',
  expected: [
    'cluster.yaml:20:39: error: strategies stateless and ctsync cannot share a cluster: stateless needs conntrack on frames bridged to the guests (br_netfilter on), ctsync needs it off, or the bridged copy of a synced flow clashes with the replicated entry\n  fix: use fullnat or ctsync for this forward, or stateless for all of them',
  ],
});
CASES.push({
  name: 'a sync group that is not multicast',
  from: 'forwards:\n',
  to: 'strategy: ctsync\nsync: { group: 10.9.9.9 }\nforwards:\n',
  expected: [
    'cluster.yaml:19:16: error: 10.9.9.9 is not a multicast group conntrackd can use\n  fix: use an address in 224.0.0.0/4 outside 224.0.0.0/24, such as 225.0.0.50',
  ],
});
CASES.push({
  name: 'sync over an unknown network',
  from: 'forwards:\n',
  to: 'strategy: ctsync\nsync: { network: storage }\nforwards:\n',
  expected: ['cluster.yaml:19:18: error: unknown network "storage"\n  fix: known networks: guestnet'],
});
CASES.push({
  name: 'FTFW with three nodes',
  from: '  node2: { address: 192.168.122.12 }\nnetworks:\n  guestnet:\n    subnet: 10.5.5.0/24\n    gateway: 10.5.5.254\n    nodes: { node1: 10.5.5.251, node2: 10.5.5.252 }\n    pipes:\n',
  to: '  node2: { address: 192.168.122.12 }\n  node3: { address: 192.168.122.13 }\nstrategy: ctsync\nsync: { mode: ftfw }\nnetworks:\n  guestnet:\n    subnet: 10.5.5.0/24\n    gateway: 10.5.5.254\n    nodes: { node1: 10.5.5.251, node2: 10.5.5.252, node3: 10.5.5.253 }\n    pipes:\n      - { node2: eth2.100, node3: eth1.100 }\n',
  expected: [
    'cluster.yaml:10:15: error: conntrackd FTFW keeps one sequence number per receiver, not per sender: with 3 nodes on one group each node drops the updates of all senders but one as "delayed"\n  fix: use "mode: notrack" (the default for more than two nodes), or leave "mode" out',
  ],
});

CASES.push({
  name: 'a proxy on a port a forward already takes',
  from: 'forwards:\n',
  to: 'proxies:\n  - { port: 2202, to: guest1 }\nforwards:\n',
  expected: [
    "cluster.yaml:19:13: error: tcp/2202 on node node1 is already forwards[1]'s\n  fix: give the proxy its own public port",
  ],
});

// Lab checks, appended after the forwards (the check is on line 22).
const LAST_FORWARD = '  - { port: 2202, to: guest2, toPort: 22 }\n';
const check = (line: string) => ({ from: LAST_FORWARD, to: `${LAST_FORWARD}checks:\n${line}\n` });
CASES.push(
  {
    name: 'check: unknown host',
    ...check('  - { to: node9, proto: http, port: 80 }'),
    expected: [
      'cluster.yaml:22:11: error: unknown host "node9"\n  fix: known hosts: workstation, gateway, node1, node2, guest1, guest2',
    ],
  },
  {
    name: 'check: http without a port',
    ...check('  - { to: node1, proto: http }'),
    expected: [
      'cluster.yaml:22:5: error: http checks need the port they dial\n  fix: add "port:", e.g. port: 80',
    ],
  },
  {
    name: 'check: a port nothing forwards',
    ...check('  - { to: node1, proto: tcp, port: 81 }'),
    expected: [
      'cluster.yaml:22:36: error: no forward or proxy of tcp/81 on node node1\'s public address; the check could only time out\n  fix: add the forward under "forwards:" (or a proxy under "proxies:"), or dial a forwarded port',
    ],
  },
  {
    name: "check: the workstation dials a guest's private address",
    ...check('  - { to: guest1, proto: tcp, port: 80 }'),
    expected: [
      'cluster.yaml:22:11: error: guest guest1 has a private address the workstation cannot route to\n  fix: dial a node\'s public address ("to: node1") with a port that is forwarded to the guest',
    ],
  },
  {
    name: 'check: a client on a node',
    ...check('  - { from: node1, to: workstation, proto: ping }'),
    expected: [
      'cluster.yaml:22:13: error: the lab runs clients on the workstation and on guests, not on "node1"\n  fix: use from: workstation, or a guest',
    ],
  },
  {
    name: 'check: ping with a port',
    ...check('  - { from: guest1, to: workstation, proto: ping, port: 9 }'),
    expected: ['cluster.yaml:22:57: error: ping checks have no port\n  fix: remove "port:"'],
  },
  {
    name: 'check: expected to leave through an unknown node',
    ...check('  - { to: node1, proto: http, port: 80, expect: { answers: guest1, leaves: node7 } }'),
    expected: ['cluster.yaml:22:76: error: unknown node "node7"\n  fix: known nodes: node1, node2'],
  },
  {
    name: 'a guest named like a lab host',
    from: 'guest2: { node: node2',
    to: 'workstation: { node: node2',
    expected: [
      'cluster.yaml:17:3: error: "workstation" is a name checks use for the lab\'s own workstation\n  fix: rename the guest, e.g. guest-workstation',
      'cluster.yaml:20:23: error: forward to unknown guest "guest2"\n  fix: known guests: guest1, workstation',
    ],
  },
  {
    name: 'a guest named like a node',
    from: 'guest2: { node: node2',
    to: 'node1: { node: node2',
    expected: [
      'cluster.yaml:17:3: error: guest node1 has the name of a node\n  fix: give every node and guest its own name',
      'cluster.yaml:20:23: error: forward to unknown guest "guest2"\n  fix: known guests: guest1, node1',
    ],
  },
);

describe('check: semantic errors name file:line:col, what is wrong and the fix', () => {
  test('the base spec is valid', () => {
    assert.deepEqual(problemsOf(BASE), []);
  });
  for (const c of CASES) {
    test(c.name, () => {
      assert.deepEqual(problemsOf(variant(c.from, c.to)), c.expected);
    });
  }

  test('every problem is reported, not just the first, in file order', () => {
    const text = variant('address: 10.5.5.201', 'address: 10.5.6.201').replace('to: guest2', 'to: guest9');
    const problems = problemsOf(text);
    assert.equal(problems.length, 2);
    assert.match(problems[0] as string, /^cluster\.yaml:16:35: .*outside network guestnet/);
    assert.match(problems[1] as string, /^cluster\.yaml:20:23: .*unknown guest "guest9"/);
  });

  test('a guest removed while forwards and "host"/"foreign" checks still lead to it: located problems, no crash', () => {
    const ctsync = readFileSync(join(EXAMPLES_DIR, 'part3-ctsync.yaml'), 'utf8');
    const problems = problemsOf(ctsync.replace(/^ {2}guest1:.*\n/m, ''), 'part3-ctsync.yaml');
    assert.match(
      problems[0] as string,
      /^part3-ctsync\.yaml:\d+:\d+: error: forward to unknown guest "guest1"/,
    );
    assert.ok(problems.some((p) => /error: unknown guest "guest1"\n {2}fix: known guests: guest2$/.test(p)));
  });

  test('more nodes than the tag scheme can encode', () => {
    const spec = generateSpec({ nodes: 256, guests: 0, forwards: 0 });
    (spec.uplink as { subnet: string }).subnet = '172.16.0.0/16';
    const problems = problemsOf(stringify(spec));
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] as string,
      /^cluster\.yaml:\d+:\d+: error: the cluster has 256 nodes but node tags encode at most 255 \(one MAC octet\); no tag is left for node node256\n {2}fix: split the cluster/,
    );
  });
});

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
