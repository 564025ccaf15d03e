// Guest ports, rootless: the bridge-family table every node gets, rules that do not grow with the
// guests, the elements `nic up` computes for a NIC, and what nic up and nic down run on a node (a
// fake node answers for ip and nft).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { HostPlan } from '../../src/host/plan.ts';
import type { Table } from '../../src/nft/tree.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { elementText, portGuard } from '../../src/systems/cluster/features/ports/elements.ts';
import { PORTS_TABLE } from '../../src/systems/cluster/features/ports/names.ts';
import type { Cluster } from '../../src/systems/cluster/model.ts';
import { fromPort } from '../../src/systems/cluster/nic/elements.ts';
import { type Exec, NicRefused, nicDown, nicUp } from '../../src/systems/cluster/nic/index.ts';
import { readRecord, recordOf } from '../../src/systems/cluster/nic/record.ts';
import { clusterSystem, readCluster } from '../../src/systems/cluster/system.ts';
import { eui64, linkLocal } from '../../src/util/ip.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-ports-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const HEAD = `uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }
interfaces: { eth1: { mtu: 9000 } }
nodes: { n1: { address: 192.168.122.21 }, n2: { address: 192.168.122.22 } }
`;

function cluster(name: string, networks: string, guests: string): Cluster {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${HEAD}networks:\n${networks}guests:\n${guests}`);
  return readCluster(file);
}

const LAN =
  '  lan: { mode: bridged, trunk: eth1, bridge: brlan, subnet: 172.20.0.0/16, gateway: 172.20.0.1 }\n';
const lan = cluster(
  'lan',
  LAN,
  `  web: { node: n1, nics: [{ mac: "52:54:00:20:00:10", address: 172.20.0.10, address6: "2001:db8::10", firewall: protected }] }
  router: { node: n1, nics: [{ mac: "52:54:00:20:00:12", address: 172.20.0.12, spoof: allow, firewall: limited }] }
`,
);
const prv = cluster(
  'prv',
  '  private-a: { mode: private, trunk: eth1, macPrefix: "aa:00:10", subnet: 192.168.10.0/24 }\n',
  `  pa1: { node: n1, nics: [{ mac: "aa:00:10:00:00:01", address: 192.168.10.1 }] }
  pa2: { node: n1, nics: [{ mac: "aa:00:10:00:00:02", address: 192.168.10.2, spoof: allow }] }
  pa3: { node: n1, nics: [{ mac: "aa:00:10:00:00:03", address: 192.168.10.3 }, { mac: "aa:00:10:00:00:04" }] }
`,
);

/** n guests, each with a MAC, an address and a profile, spread over both nodes. */
function many(n: number): Cluster {
  const guests = Array.from({ length: n }, (_, i) => {
    const mac = `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const address = `172.20.${Math.floor(i / 250) + 1}.${(i % 250) + 2}`;
    const firewall = ['protected', 'limited', 'unprotected'][i % 3];
    return `  g${i}: { node: n${(i % 2) + 1}, nics: [{ mac: "${mac}", address: ${address}, firewall: ${firewall} }] }\n`;
  });
  return cluster(`many${n}`, LAN, guests.join(''));
}

const portsTable = (plan: HostPlan): Table | undefined =>
  plan.ruleset.tables.find((t) => t.family === 'bridge' && t.name === PORTS_TABLE);
const rules = (plan: HostPlan) =>
  plan.ruleset.tables.reduce((sum, t) => sum + t.chains.reduce((s, c) => s + c.rules.length, 0), 0);

describe('ports: the table', () => {
  test('every node has it, guests or not (guests migrate), with empty sets and maps', () => {
    for (const plan of compileCluster(lan)) {
      const table = portsTable(plan);
      assert.ok(table, `${plan.node} has table bridge ${PORTS_TABLE}`);
      assert.deepEqual(
        table.sets.map((s) => [s.name, s.elements.length]),
        [
          ['plugged', 0],
          ['port_mac', 0],
          ['port_ipv4', 0],
          ['port_ipv6', 0],
          ['from_guest', 0],
          ['to_private', 0],
          ['to_profile', 0],
        ],
      );
      const hooks = table.chains.filter((c) => c.base).map((c) => [c.name, c.base?.hook, c.base?.priority]);
      assert.deepEqual(hooks, [
        ['from_guest_hook', 'prerouting', -200],
        ['to_guest_forward', 'forward', -200],
        ['to_guest_output', 'output', -200],
      ]);
    }
  });

  test('one prefix chain per private network; none without private networks', () => {
    const chains = (c: Cluster) =>
      portsTable(compileCluster(c)[0] as HostPlan)?.chains.map((x) => x.name) ?? [];
    assert.ok(chains(prv).includes('prefix_private_a'));
    assert.ok(!chains(lan).some((name) => name.startsWith('prefix_')));
  });

  test('a cluster without guest MACs or profiles has no guest-ports table', () => {
    // Only a gateway network's guest may go without a MAC (a bridged or private one needs it).
    const bare = cluster(
      'bare',
      '  gw: { subnet: 10.5.5.0/24, gateway: 10.5.5.254, nodes: { n1: 10.5.5.251, n2: 10.5.5.252 }, pipes: [{ n1: eth2, n2: eth2 }] }\n',
      '  web: { node: n1, address: 10.5.5.10 }\n',
    );
    assert.equal(portsTable(compileCluster(bare)[0] as HostPlan), undefined);
  });

  test('the ruleset has as many rules for 10,000 guests as for 10', () => {
    const [ten, tenThousand] = [10, 10_000].map((n) => compileCluster(many(n))[0] as HostPlan);
    assert.ok(ten && tenThousand);
    assert.equal(rules(tenThousand), rules(ten));
    assert.equal(portsTable(tenThousand)?.chains.length, portsTable(ten)?.chains.length);
  });

  test('faults: no-antispoof leaves out the prerouting hook, private-forward-only the output hook', () => {
    assert.deepEqual(clusterSystem.faults(prv), ['no-antispoof', 'private-forward-only']);
    assert.deepEqual(clusterSystem.faults(lan), ['no-antispoof']);
    const hooks = (faults: ('no-antispoof' | 'private-forward-only')[]) =>
      portsTable(compileCluster(prv, { faults })[0] as HostPlan)
        ?.chains.filter((c) => c.base)
        .map((c) => c.base?.hook);
    assert.deepEqual(hooks(['no-antispoof']), ['forward', 'output']);
    assert.deepEqual(hooks(['private-forward-only']), ['prerouting', 'forward']);
  });
});

describe('ports: the elements of a NIC', () => {
  const nic = (c: Cluster, guest: string) => c.guests.find((g) => g.name === guest)?.nics[0];

  test('spoof: drop: MAC, address, address6 and link-local, anti-spoofing and the profile', () => {
    const web = nic(lan, 'web');
    assert.ok(web);
    const guard = portGuard(web, lan.bridged[0], 'tap5');
    assert.deepEqual(guard.elements.map(elementText), [
      '{ "tap5" . 52:54:00:20:00:10 }',
      '{ "tap5" . 52:54:00:20:00:10 . 172.20.0.10 }',
      '{ "tap5" . 52:54:00:20:00:10 . fe80::5054:ff:fe20:10 }',
      '{ "tap5" . 52:54:00:20:00:10 . 2001:db8::10 }',
      '{ "tap5" : jump antispoof }',
      '{ "tap5" : jump protected }',
    ]);
    assert.deepEqual(
      guard.elements.map((e) => e.set),
      ['port_mac', 'port_ipv4', 'port_ipv6', 'port_ipv6', 'from_guest', 'to_profile'],
    );
  });

  test('spoof: allow on a bridged network: only the profile; on a private network: the MAC check and the prefix', () => {
    const router = nic(lan, 'router');
    const pa2 = nic(prv, 'pa2');
    assert.ok(router && pa2);
    assert.deepEqual(portGuard(router, lan.bridged[0], 'tap7').elements.map(elementText), [
      '{ "tap7" : jump limited }',
    ]);
    assert.deepEqual(portGuard(pa2, prv.bridged[0], 'tap2').elements.map(elementText), [
      '{ "tap2" . aa:00:10:00:00:02 }',
      '{ "tap2" : jump own_mac }',
      '{ "tap2" : jump prefix_private_a }',
    ]);
  });

  test('no address: no IPv4 source on a bridged network; the MAC alone on a private one', () => {
    const second = prv.guests.find((g) => g.name === 'pa3')?.nics[1];
    assert.ok(second);
    const guard = portGuard(second, prv.bridged[0], 'tap4');
    assert.deepEqual(guard.elements.map(elementText), [
      '{ "tap4" . aa:00:10:00:00:04 }',
      '{ "tap4" : jump own_mac }',
      '{ "tap4" : jump prefix_private_a }',
    ]);
    assert.equal(guard.antispoof, 'aa:00:10:00:00:04 (MAC only: no address on a private network)');
    const bridged = { ...second, network: 'lan' };
    assert.deepEqual(portGuard(bridged, lan.bridged[0], 'tap4').elements.map(elementText), [
      '{ "tap4" . aa:00:10:00:00:04 }',
      '{ "tap4" . aa:00:10:00:00:04 . fe80::a800:10ff:fe00:4 }',
      '{ "tap4" : jump antispoof }',
    ]);
  });

  test("a plug's record on the tap (its alias) names its elements again; anything else is no record", () => {
    const web = nic(lan, 'web');
    const pa3 = prv.guests.find((g) => g.name === 'pa3')?.nics[1];
    assert.ok(web && pa3);
    for (const [n, network] of [
      [web, lan.bridged[0]],
      [pa3, prv.bridged[0]],
    ] as const) {
      const { elements } = portGuard(n, network, 'tap5');
      const record = recordOf({ elements: elements.map(fromPort) });
      assert.ok(record && Buffer.byteLength(record) <= 255);
      assert.deepEqual(readRecord(record, 'tap5'), { elements: elements.map(fromPort) });
    }
    for (const alias of [undefined, '', 'uplink to the core', 'convergent m=52:54:00:00:00:01;flush ruleset'])
      assert.equal(readRecord(alias, 'tap5'), undefined, String(alias));
  });

  test('the EUI-64 link-local address of a MAC (RFC 4291: ff:fe inserted, U/L bit flipped)', () => {
    assert.equal(linkLocal('52:54:00:12:34:56'), 'fe80::5054:ff:fe12:3456');
    assert.equal(linkLocal('02:00:00:00:00:01'), 'fe80::ff:fe00:1');
    // gnt-networking's mac2eui64, in a routed network's /64
    assert.equal(
      eui64('52:54:00:12:34:56', { family: 6, text: '2001:db8::', length: 64 }),
      '2001:db8::5054:ff:fe12:3456',
    );
  });
});

/**
 * A node that answers ip and nft as the kernel would for a bridge brlan, the taps given (with their
 * bridge) and the table's elements given (undefined: not loaded): `create element` of a tap already
 * in `plugged` fails as nft does, and so does any nft command while the table is not loaded.
 */
function fakeNode(
  table: unknown[] | undefined,
  taps: Record<string, string | undefined>,
  aliases: Record<string, string> = {},
) {
  const ran: string[] = [];
  const plugged = JSON.stringify(table ?? []).match(/"plugged","elem":\[([^\]]*)\]/)?.[1] ?? '';
  const exec: Exec = (argv, stdin) => {
    const line = argv.join(' ');
    ran.push(stdin === undefined ? line : `${line} <<${stdin}`);
    const ok = (stdout: string) => ({ status: 0, stdout, stderr: '' });
    const fail = (stderr: string) => ({ status: 1, stdout: '', stderr });
    if (argv[0] === 'nft' && !table) return fail('Error: Could not process rule: No such file or directory');
    if (line === `nft -j list table bridge ${PORTS_TABLE}`) return ok(JSON.stringify({ nftables: table }));
    const created = /^create element \S+ \S+ plugged \{ ("[^"]+") \}/.exec(stdin ?? '')?.[1];
    if (created !== undefined && plugged.includes(created))
      return fail('Error: Could not process rule: File exists');
    const linkOf = (dev: string) =>
      dev === 'brlan'
        ? [{ ifname: 'brlan', mtu: 9000 }]
        : dev in taps
          ? [{ ifname: dev, mtu: 1500, master: taps[dev], ifalias: aliases[dev] }]
          : [];
    // One JSON array a line for each link there is, as ip answers `link show dev X` lines.
    if (line === 'ip -force -j -batch -')
      return ok(
        (stdin ?? '')
          .split('\n')
          .flatMap((l) => /^link show dev (\S+)$/.exec(l)?.[1] ?? [])
          .flatMap((dev) => (linkOf(dev).length > 0 ? [`${JSON.stringify(linkOf(dev))}\n`] : []))
          .join(''),
      );
    const dev = /^ip -j link show dev (\S+)$/.exec(line)?.[1];
    if (dev !== undefined)
      return linkOf(dev).length > 0 ? ok(JSON.stringify(linkOf(dev))) : fail('does not exist');
    return ok('');
  };
  return { exec, ran };
}

const STALE = [
  { table: { family: 'bridge', name: PORTS_TABLE } },
  { set: { name: 'plugged', elem: ['tap5', 'tap6'] } },
  {
    set: {
      name: 'port_mac',
      elem: [{ concat: ['tap5', '52:54:00:99:99:99'] }, { concat: ['tap6', '52:54:00:20:00:11'] }],
    },
  },
  { map: { name: 'from_guest', map: 'verdict', elem: [['tap5', { jump: { target: 'antispoof' } }]] } },
];

describe('nic up and nic down on a node', () => {
  test('nic up on a fresh tap: one nft transaction creating the tap in plugged and adding its elements, nothing read, no rule', () => {
    const node = fakeNode([{ table: { family: 'bridge', name: PORTS_TABLE } }], { tap5: undefined });
    const plugged = nicUp(node.exec, lan, 'n1', 'web', 'tap5');
    assert.equal(plugged.cleared, 0);
    assert.deepEqual(node.ran, [
      'ip -force -j -batch - <<link show dev tap5\nlink show dev brlan\n',
      `nft -f - <<create element bridge ${PORTS_TABLE} plugged { "tap5" }
add element bridge ${PORTS_TABLE} port_mac { "tap5" . 52:54:00:20:00:10 }
add element bridge ${PORTS_TABLE} port_ipv4 { "tap5" . 52:54:00:20:00:10 . 172.20.0.10 }
add element bridge ${PORTS_TABLE} port_ipv6 { "tap5" . 52:54:00:20:00:10 . fe80::5054:ff:fe20:10 }
add element bridge ${PORTS_TABLE} port_ipv6 { "tap5" . 52:54:00:20:00:10 . 2001:db8::10 }
add element bridge ${PORTS_TABLE} from_guest { "tap5" : jump antispoof }
add element bridge ${PORTS_TABLE} to_profile { "tap5" : jump protected }
`,
      'ip link set dev tap5 mtu 9000 master brlan alias convergent m=52:54:00:20:00:10 4=52:54:00:20:00:10,172.20.0.10 6=52:54:00:20:00:10,fe80::5054:ff:fe20:10 6=52:54:00:20:00:10,2001:db8::10 f>antispoof p>protected up',
    ]);
    assert.equal(
      plugged.line,
      'nic web:0 on tap5: bridge brlan mtu 9000, anti-spoofing 52:54:00:20:00:10 172.20.0.10 2001:db8::10, profile protected',
    );
  });

  test('nic up on a tap still plugged: its stale elements deleted and the new ones added in one transaction', () => {
    const node = fakeNode(STALE, { tap5: 'brother' });
    const plugged = nicUp(node.exec, lan, 'n1', 'router', 'tap5');
    assert.equal(plugged.cleared, 2);
    const changes = node.ran.filter((l) => !l.includes(' -j ')).slice(1);
    assert.deepEqual(changes, [
      `nft -f - <<delete element bridge ${PORTS_TABLE} plugged { "tap5" }
delete element bridge ${PORTS_TABLE} port_mac { "tap5" . 52:54:00:99:99:99 }
delete element bridge ${PORTS_TABLE} from_guest { "tap5" }
add element bridge ${PORTS_TABLE} plugged { "tap5" }
add element bridge ${PORTS_TABLE} to_profile { "tap5" : jump limited }
`,
      'ip link set dev tap5 nomaster',
      'ip link set dev tap5 mtu 9000 master brlan alias convergent p>limited up',
    ]);
  });

  test('nic up on a tap plugged before, with its record: the recorded elements removed and the new added, nothing read', () => {
    const record = 'convergent m=52:54:00:99:99:99 f>antispoof';
    const node = fakeNode(STALE, { tap5: 'brlan' }, { tap5: record });
    const plugged = nicUp(node.exec, lan, 'n1', 'router', 'tap5');
    assert.equal(plugged.cleared, 2);
    assert.ok(!node.ran.some((l) => l.startsWith('nft -j list')), 'no set read');
    const [, , alias, again] = node.ran;
    assert.equal(alias, `ip link set dev tap5 alias ${record} p>limited`);
    assert.equal(
      again,
      `nft -f - <<add element bridge ${PORTS_TABLE} port_mac { "tap5" . 52:54:00:99:99:99 }
delete element bridge ${PORTS_TABLE} port_mac { "tap5" . 52:54:00:99:99:99 }
add element bridge ${PORTS_TABLE} from_guest { "tap5" : jump antispoof }
delete element bridge ${PORTS_TABLE} from_guest { "tap5" }
add element bridge ${PORTS_TABLE} plugged { "tap5" }
delete element bridge ${PORTS_TABLE} plugged { "tap5" }
add element bridge ${PORTS_TABLE} plugged { "tap5" }
add element bridge ${PORTS_TABLE} to_profile { "tap5" : jump limited }
`,
    );
  });

  test('nic up refuses before any change: unknown guest, NIC, node, tap; no table loaded', () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => nicUp(fakeNode(STALE, { tap5: undefined }).exec, lan, 'n1', 'nobody', 'tap5'),
        /no guest "nobody"/,
      ],
      [
        () => nicUp(fakeNode(STALE, { tap5: undefined }).exec, lan, 'n1', 'web:1', 'tap5'),
        /web has no NIC 1/,
      ],
      [
        () => nicUp(fakeNode(STALE, { tap5: undefined }).exec, lan, 'n2', 'web', 'tap5'),
        /on node n1 in the spec, not on n2/,
      ],
      [() => nicUp(fakeNode(STALE, { tap5: undefined }).exec, lan, 'n9', 'web', 'tap5'), /no node n9/],
      [() => nicUp(fakeNode(STALE, {}).exec, lan, 'n1', 'web', 'tap5'), /no interface tap5/],
      [() => nicUp(fakeNode(undefined, { tap5: undefined }).exec, lan, 'n1', 'web', 'tap5'), /is not loaded/],
      [() => nicUp(fakeNode(STALE, {}).exec, lan, 'n1', 'web', 'tap 5'), /is not an interface name/],
      [() => nicUp(fakeNode(STALE, {}).exec, lan, 'n1', 'web:x', 'tap5'), /NIC index "x" .* is not a number/],
    ];
    for (const [run, message] of cases)
      assert.throws(run, (err: unknown) => err instanceof NicRefused && message.test(err.message));
  });

  test("a node's own link is never taken for a tap: its NICs, uplink bridge and ports, network bridges, their slaves", () => {
    // lan's nodes: uplink br0 over eth0, NIC eth1 (the trunk of brlan).
    const refusals: [() => unknown, RegExp][] = [
      [
        () => nicDown(fakeNode(STALE, { eth0: 'br0' }).exec, lan, 'n1', 'eth0', { localOnly: false }),
        /own links/,
      ],
      [
        () => nicDown(fakeNode(STALE, { br0: undefined }).exec, lan, 'n1', 'br0', { localOnly: false }),
        /own links/,
      ],
      [
        () => nicDown(fakeNode(STALE, { eth1: 'brlan' }).exec, lan, 'n1', 'eth1', { localOnly: false }),
        /own links/,
      ],
      [() => nicUp(fakeNode(STALE, { brlan: undefined }).exec, lan, 'n1', 'web', 'brlan'), /own links/],
      [() => nicUp(fakeNode(STALE, { eth9: 'br0' }).exec, lan, 'n1', 'web', 'eth9'), /a port of br0/],
    ];
    for (const [run, message] of refusals) {
      assert.throws(run, (err: unknown) => err instanceof NicRefused && message.test(err.message));
    }
    const ran: string[] = [];
    const node = fakeNode(STALE, { eth0: 'br0' });
    const logged = (argv: readonly string[], stdin?: string) => {
      ran.push(argv.join(' '));
      return node.exec(argv, stdin);
    };
    assert.throws(() => nicDown(logged, lan, 'n1', 'eth0', { localOnly: false }));
    assert.ok(
      !ran.some((l) => !l.includes(' -j ') && !l.startsWith('nft -j')),
      `only reads: ${ran.join('; ')}`,
    );
  });

  test('nic down: every element of the tap, out of its bridge; a gone tap and no table are no error', () => {
    const node = fakeNode(STALE, { tap5: 'brlan' });
    const done = nicDown(node.exec, lan, 'n1', 'tap5', { localOnly: true });
    assert.equal(done.line, 'nic down tap5 on n1: 2 elements removed, out of bridge brlan');
    assert.ok(node.ran.includes('ip link set dev tap5 nomaster alias '));
    assert.ok(!node.ran.some((l) => l.includes('tap6')), "another tap's elements stay");
    const gone = nicDown(fakeNode(undefined, {}).exec, lan, 'n1', 'tap5', { localOnly: false });
    assert.equal(gone.line, 'nic down tap5 on n1: 0 elements removed, tap5 is gone');
  });
});
