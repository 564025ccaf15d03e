// Every semantic error a user can make, with the exact message and location `convergent check` prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { generateSpec } from '../support/generate.ts';
import { problemsOf } from '../support/spec.ts';
import { BASE, variant } from '../support/spec-variant.ts';

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
