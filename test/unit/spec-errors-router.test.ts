// Seed 004's spec mistakes (validate/router.ts, validate/router-tables.ts): routers, SNAT and
// floating addresses, the inserted appliance, transit networks, steering tables, and forwards that
// only the router can NAT. Each is one problem at file:line:col with a fix, made in the example.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { edit } from '../support/ganeti/fixtures.ts';
import { problemsOf } from '../support/spec.ts';

// Without its lab checks: a mistake here is one problem, not also each check it breaks.
const BASE = readFileSync(join(EXAMPLES_DIR, 'seed004-insert.yaml'), 'utf8').replace(
  /\nchecks:[\s\S]*$/,
  '\n',
);

const FW1_NICS =
  '      - { network: fwnet, address: 10.7.255.2, mac: "52:54:00:07:ff:02" }\n' +
  '      - { network: mgmt, address: 10.7.254.2, mac: "52:54:00:07:fe:02", floating: 192.168.122.61 }';
const MGMT_ROUTER = '    router: node1\n\nguests:';
const FWNET_ROUTER = '    router: node1\n    transit: true ';
const ROUTED_UP =
  '\n  up:\n    mode: routed\n    trunk: eth2\n    subnet: 192.0.2.0/24\n    gateway: 192.0.2.1\n    table: 100\n\nguests:';

const CASES: { name: string; edits: [string, string][]; expected: string[] }[] = [
  {
    name: 'a router that is no node (the forward to its guest is not reported again)',
    edits: [['    router: node1\n    snat:', '    router: node3\n    snat:']],
    expected: ['cluster.yaml:28:13: error: unknown node "node3"\n  fix: known nodes: node1, node2'],
  },
  {
    name: 'a SNAT address outside the uplink',
    edits: [['snat: 192.168.122.50', 'snat: 10.9.0.1']],
    expected: [
      'cluster.yaml:29:11: error: the SNAT address of network tenant 10.9.0.1 is outside the uplink subnet (192.168.122.0/24)\n  fix: choose an address inside 192.168.122.0/24',
    ],
  },
  {
    name: "a SNAT address that is a node's",
    edits: [['snat: 192.168.122.50', 'snat: 192.168.122.12']],
    expected: [
      'cluster.yaml:29:11: error: address 192.168.122.12 is already used by node node2\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'a SNAT address without a router',
    edits: [
      ['    router: node1\n    snat:', '    snat:'],
      ['nodes: { node1: 10.7.0.251 }', 'nodes: { node1: 10.7.0.251, node2: 10.7.0.252 }'],
      ['    insert: fw1  ', '  '],
      [', floating: 192.168.122.60 }', ' }'],
    ],
    expected: [
      'cluster.yaml:28:5: error: "snat" needs "router:" on network tenant: only a network routed by one node has an external address, an appliance or a transit role\n  fix: add "router: <node>" (the node holding the gateway and the NAT), or remove it',
    ],
  },
  {
    name: 'a floating IP outside the uplink',
    edits: [['floating: 192.168.122.60', 'floating: 10.9.0.60']],
    expected: [
      'cluster.yaml:50:96: error: the floating IP 10.9.0.60 is outside the uplink subnet (192.168.122.0/24)\n  fix: choose an address inside 192.168.122.0/24',
    ],
  },
  {
    name: 'two NICs with one floating IP',
    edits: [['floating: 192.168.122.61', 'floating: 192.168.122.60']],
    expected: [
      'cluster.yaml:56:83: error: address 192.168.122.60 is already used by the floating IP of guest vm1\n  fix: give every node, gateway and guest its own address',
    ],
  },
  {
    name: 'a floating IP on a network without a router',
    edits: [
      [MGMT_ROUTER, '\nguests:'],
      ['nodes: { node1: 10.7.254.251 }', 'nodes: { node1: 10.7.254.251, node2: 10.7.254.252 }'],
    ],
    expected: [
      'cluster.yaml:55:83: error: floating IP 192.168.122.61 on network mgmt, which has no router to NAT it\n  fix: give network mgmt "router: <node>" (seed 004\'s tenant router), or remove "floating:"',
    ],
  },
  {
    name: 'insert names an unknown guest',
    edits: [['insert: fw1', 'insert: fw9']],
    expected: ['cluster.yaml:30:13: error: unknown guest "fw9"\n  fix: known guests: vm1, vm2, fw1'],
  },
  {
    name: 'insert names a guest with no NIC on a transit network',
    edits: [['insert: fw1', 'insert: vm2']],
    expected: [
      'cluster.yaml:30:13: error: the appliance vm2 has no NIC on a transit network\n  fix: put a NIC of vm2 on a network with "transit: true" and "router: node1"',
    ],
  },
  {
    name: 'the appliance in a transit network of another router',
    edits: [
      [FWNET_ROUTER, '    router: node2\n    transit: true '],
      ['nodes: { node1: 10.7.255.5 }', 'nodes: { node2: 10.7.255.6 }'],
    ],
    expected: [
      'cluster.yaml:30:13: error: the appliance fw1 sits in transit network fwnet, routed by node2, and network tenant is routed by node1\n  fix: give transit network fwnet "router: node1": the appliance returns traffic by its default route, to the router that sent it',
    ],
  },
  {
    name: 'the appliance without an address on its transit network',
    edits: [
      [
        FW1_NICS,
        '      - { network: mgmt, address: 10.7.254.2, mac: "52:54:00:07:fe:02", floating: 192.168.122.61 }\n' +
          '      - { network: fwnet, mac: "52:54:00:07:ff:02" }',
      ],
    ],
    expected: [
      'cluster.yaml:30:13: error: the appliance fw1 has no address on transit network fwnet: the router needs it as its next hop\n  fix: add "address:" to fw1\'s NIC on fwnet',
    ],
  },
  {
    name: 'a transit network that inserts an appliance',
    edits: [[FWNET_ROUTER, '    router: node1\n    insert: fw1\n    transit: true ']],
    expected: [
      'cluster.yaml:39:13: error: network fwnet is a transit network: it carries an appliance, it cannot insert one\n  fix: insert the appliance on the tenant network it guards',
    ],
  },
  {
    name: 'transit on a network without a router',
    edits: [
      [MGMT_ROUTER, '    transit: true\n\nguests:'],
      ['nodes: { node1: 10.7.254.251 }', 'nodes: { node1: 10.7.254.251, node2: 10.7.254.252 }'],
      [', floating: 192.168.122.61 }', ' }'],
    ],
    expected: [
      'cluster.yaml:47:5: error: "transit" needs "router:" on network mgmt: only a network routed by one node has an external address, an appliance or a transit role\n  fix: add "router: <node>" (the node holding the gateway and the NAT), or remove it',
    ],
  },
  {
    name: 'a table on a network that inserts nothing',
    edits: [[MGMT_ROUTER, '    router: node1\n    table: 120\n\nguests:']],
    expected: [
      'cluster.yaml:48:5: error: "table" on network mgmt is the steering table of an appliance, and it inserts none\n  fix: remove "table:", or add "insert: <appliance guest>"',
    ],
  },
  {
    name: "a steering table that is iproute2's main",
    edits: [['    insert: fw1  ', '    table: 254\n    insert: fw1  ']],
    expected: ["cluster.yaml:30:12: error: table 254 is iproute2's main table\n  fix: write table: 100"],
  },
  {
    name: "a steering table that is a routed network's",
    edits: [
      ['    insert: fw1  ', '    table: 100\n    insert: fw1  '],
      ['\nnodes:', '\ninterfaces:\n  eth2: {}\nnodes:'],
      ['\nguests:', ROUTED_UP],
    ],
    expected: [
      "cluster.yaml:32:12: error: table 100 is already routed network up's table: network tenant's steering would route into it\n  fix: write table: 101",
    ],
  },
  {
    name: 'a forward to a guest behind a router, on every node',
    edits: [['toPort: 22, nodes: [node1] }', 'toPort: 22 }']],
    expected: [
      'cluster.yaml:59:5: error: forward to guest vm2 on network tenant, which is routed by node1 alone: another node has no NAT state for it\n  fix: write nodes: [node1]',
    ],
  },
  {
    name: 'a forward to a guest behind a router, on another node',
    edits: [['toPort: 22, nodes: [node1] }', 'toPort: 22, nodes: [node2] }']],
    expected: [
      'cluster.yaml:59:47: error: forward to guest vm2 on network tenant, which is routed by node1 alone: another node has no NAT state for it\n  fix: write nodes: [node1]',
    ],
  },
];

describe('check: routers, floating IPs and insertion (seed 004): each mistake one located problem with a fix', () => {
  test('the example is valid', () => assert.deepEqual(problemsOf(BASE), []));
  for (const c of CASES)
    test(c.name, () => {
      const text = c.edits.reduce((t, [from, to]) => edit(t, from, to), BASE);
      const problems = problemsOf(text);
      for (const p of problems) assert.doesNotMatch(p, /\n\s+at |Error:|undefined|NaN|\[object/, p);
      assert.deepEqual(problems, c.expected);
    });
});

test("a routered network's nodes: the router's address alone, and it is required", () => {
  const other = problemsOf(
    edit(BASE, 'nodes: { node1: 10.7.0.251 }', 'nodes: { node1: 10.7.0.251, node2: 10.7.0.252 }'),
  );
  assert.deepEqual(other, [
    'cluster.yaml:25:40: error: network tenant is routed by node1 alone: node node2 only bridges it and holds no address on it\n  fix: remove "node2:" from networks.tenant.nodes',
  ]);
  const none = problemsOf(edit(BASE, 'nodes: { node1: 10.7.0.251 }', 'nodes: { node2: 10.7.0.252 }'));
  assert.equal(none.length, 2, none.join('\n'));
  assert.ok(
    none.some((p) =>
      /node node1 has no address on network tenant, which it routes\n {2}fix: add "node1: <address in 10\.7\.0\.0\/24>"/.test(
        p,
      ),
    ),
    none.join('\n'),
  );
});

test('a router with more networks than its steering can exclude is refused at insert', () => {
  const more = Array.from(
    { length: 8 },
    (_, i) =>
      `  m${i}:\n    subnet: 10.8.${i}.0/24\n    gateway: 10.8.${i}.1\n    nodes: { node1: 10.8.${i}.251 }\n    bridge: qbr-m${i}\n    pipes:\n      - { node1: eth1.${110 + i}, node2: eth1.${110 + i} }\n    router: node1\n`,
  ).join('');
  const problems = problemsOf(edit(BASE, '\nguests:', `\n${more}\nguests:`));
  assert.deepEqual(problems, [
    "cluster.yaml:30:13: error: node node1 routes 10 subnets itself besides transit ones (tenant's included: anycast, routed and its routered networks), each routed directly, around network tenant's appliance, by a rule of its own, and 8 fit before the steering rules\n  fix: route at most 8 such networks on node1 (give some a router of their own, or make them bridged)",
  ]);
});

test("conntrackd over a routered network is refused: it has the router's address alone", () => {
  const text = edit(
    BASE,
    '\nguests:',
    '\nsync: { network: tenant, group: 225.0.0.50, port: 3780 }\n\nguests:',
  );
  assert.ok(
    problemsOf(text).some((p) =>
      p.includes(
        "error: conntrackd needs every node's address on its network, and network tenant has node1's alone",
      ),
    ),
    problemsOf(text).join('\n'),
  );
});

describe("a router's SNAT address shared by its networks (Neutron's qrouter: one external address)", () => {
  const mgmtSnat = (router: string) =>
    edit(BASE, MGMT_ROUTER, `    router: ${router}\n    snat: 192.168.122.50\n\nguests:`);

  test('two networks of the same router: accepted', () => {
    assert.deepEqual(problemsOf(mgmtSnat('node1')), []);
  });

  test("another router's network: refused", () => {
    const text = edit(
      edit(mgmtSnat('node2'), 'nodes: { node1: 10.7.254.251 }', 'nodes: { node2: 10.7.254.252 }'),
      ', floating: 192.168.122.61 }',
      ' }',
    );
    assert.deepEqual(problemsOf(text), [
      'cluster.yaml:48:11: error: address 192.168.122.50 is already used by the SNAT address of network tenant\n  fix: give every node, gateway and guest its own address',
    ]);
  });
});
