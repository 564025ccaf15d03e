// network.sh is re-runnable: run twice in a fresh network namespace (`unshare --net`, gone with its
// process), it exits 0 both times and the second run leaves links, addresses and routes exactly as
// the first made them (`ip -d -j link`, `ip -j addr`, `ip -j route`, timers and counters aside).
// On this kernel: bridges, veths standing in for NICs and pipes (bonds and VLANs: test/vm/ifupdown).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { elementLine, routedGuard } from '../../src/systems/cluster/features/routed/elements.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-network-sh-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// A bridged network untagged on its trunk, a jumbo NIC under a 1500-byte bridge: what this kernel can hold.
const FLAT = `name: flat
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: vmbr0, ports: [eth0] }
interfaces:
  eth1: { mtu: 9000 }
nodes:
  pve1: { address: 192.168.122.21 }
networks:
  flat: { mode: bridged, mtu: 1500, trunk: eth1, subnet: 172.20.0.0/24, gateway: 172.20.0.1 }
guests:
  web: { node: pve1, nics: [{ mac: "52:54:00:20:00:10", address: 172.20.0.10 }] }
`;

/** The node's plan and its network.sh written under scratch. */
function scriptOf(spec: string, node: string): { plan: HostPlan; script: string } {
  const plan = compileCluster(readCluster(spec)).find((p) => p.node === node) as HostPlan;
  const file = renderNode(plan).find((f) => f.path === FILES.networkScript);
  assert.ok(file);
  const script = join(scratch, `${plan.cluster}-${node}.sh`);
  writeFileSync(script, textOf(file));
  return { plan, script };
}

/** A rendered file of the plan's, written under scratch; its path. */
function fileOf(plan: HostPlan, path: string): string {
  const file = renderNode(plan).find((f) => f.path === path);
  assert.ok(file, path);
  const out = join(scratch, `${plan.cluster}-${plan.node}-${path.replaceAll('/', '-')}`);
  writeFileSync(out, textOf(file));
  return out;
}

/** The interfaces network.sh expects: NICs, uplink ports and pipes (veths, peers left down). */
function hardware(plan: HostPlan): string[] {
  const nics = plan.links.filter((l) => l.kind === 'nic').map((l) => l.name);
  return [...new Set([...nics, ...plan.bridges.flatMap((b) => b.ports)])];
}

const STATE = 'ip -d -j link; echo; ip -j addr; echo; ip -j route';

interface Runs {
  readonly codes: number[];
  readonly states: string[];
  readonly stderr: string;
}

/** In a fresh network namespace: the hardware, then network.sh twice (each run followed by `then`), the state after each. */
function runTwice(plan: HostPlan, script: string, before = '', state = STATE, then = ''): Runs {
  const ports = hardware(plan).map((p, i) => `ip link add ${p} type veth peer name peer${i}`);
  const body = [
    ...ports,
    before,
    `sh ${script}; echo "code $?"; ${then}${state}; echo '=== next'`,
    `sh ${script}; echo "code $?"; ${then}${state}`,
  ].join('\n');
  const r = spawnSync('unshare', ['--net', 'sh', '-c', body], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const runs = r.stdout.split('=== next\n');
  return {
    codes: runs.map((run) => Number(/^code (\d+)$/m.exec(run)?.[1])),
    states: runs.map((run) => JSON.stringify(stable(run.replace(/^code \d+\n/m, '')))),
    stderr: r.stderr,
  };
}

/** The three JSON documents with what changes by itself removed: timers, counters. */
function stable(text: string): unknown {
  const drop = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(drop);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => !k.endsWith('_timer') && k !== 'stats64')
          .map(([k, x]) => [k, drop(x)]),
      );
    return v;
  };
  return text
    .split('\n\n')
    .filter((t) => t.trim() !== '')
    .map((t) => drop(JSON.parse(t)));
}

interface Link {
  ifname: string;
  mtu: number;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

describe('network.sh: applying it twice gives the same state', () => {
  test('part4-stateless node1: bridges with their MAC and nf_call_iptables, addresses, default route', (t) => {
    if (!needsRoot(t)) return;
    const { plan, script } = scriptOf(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'node1');
    const runs = runTwice(plan, script);
    assert.deepEqual(runs.codes, [0, 0], runs.stderr);
    assert.equal(runs.states[1], runs.states[0]);
    const [links, addrs] = JSON.parse(runs.states[0] as string) as [
      Link[],
      { ifname: string; addr_info: { local: string }[] }[],
    ];
    const bridge = links.find((l) => l.ifname === 'guestbr0');
    assert.equal(bridge?.linkinfo?.info_kind, 'bridge');
    assert.equal(bridge?.linkinfo?.info_data?.nf_call_iptables, 1);
    assert.equal(links.find((l) => l.ifname === 'eth1.100')?.master, 'guestbr0');
    const locals = addrs.find((a) => a.ifname === 'guestbr0')?.addr_info.map((a) => a.local);
    assert.deepEqual(locals?.slice(0, 2), ['10.5.5.251', '10.5.5.254'], 'own address first (primary)');
  });

  test('a bridged network on a jumbo NIC: the bridge takes the network MTU, the NIC keeps its own', (t) => {
    if (!needsRoot(t)) return;
    const spec = join(scratch, 'flat.yaml');
    writeFileSync(spec, FLAT);
    const { plan, script } = scriptOf(spec, 'pve1');
    const runs = runTwice(plan, script);
    assert.deepEqual(runs.codes, [0, 0], runs.stderr);
    assert.equal(runs.states[1], runs.states[0]);
    const [links, addrs] = JSON.parse(runs.states[0] as string) as [
      Link[],
      { ifname: string; addr_info: unknown[] }[],
    ];
    const mtu = (name: string) => links.find((l) => l.ifname === name)?.mtu;
    assert.equal(mtu('eth1'), 9000);
    assert.equal(mtu('flat'), 1500);
    assert.equal(links.find((l) => l.ifname === 'eth1')?.master, 'flat');
    assert.ok(links.find((l) => l.ifname === 'flat')?.flags.includes('UP'));
    const v4 = addrs
      .find((a) => a.ifname === 'flat')
      ?.addr_info.filter((a) => (a as { family: string }).family === 'inet');
    assert.deepEqual(v4, [], 'no node address on a bridged network');
  });

  test('a second run puts back what was changed by hand, without an error', (t) => {
    if (!needsRoot(t)) return;
    const { plan, script } = scriptOf(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'node1');
    // The bridge exists already, with other options, without its port, MAC or addresses.
    const drifted = runTwice(plan, script, 'ip link add guestbr0 type bridge stp_state 1 mcast_snooping 0');
    assert.deepEqual(drifted.codes, [0, 0], drifted.stderr);
    const bridge = (state: string) =>
      (JSON.parse(state) as Link[][])[0]?.find((l) => l.ifname === 'guestbr0')?.linkinfo?.info_data;
    assert.equal(bridge(drifted.states[0] as string)?.stp_state, 0);
    assert.equal(bridge(drifted.states[0] as string)?.mcast_snooping, 1);
    assert.equal(bridge(drifted.states[0] as string)?.bridge_id, '8000.a:1:0:0:0:1');
    assert.equal(drifted.states[1], drifted.states[0]);
    const links = (JSON.parse(drifted.states[0] as string) as Link[][])[0];
    assert.equal(links?.find((l) => l.ifname === 'eth1.100')?.master, 'guestbr0');
  });

  test("a missing pipe: the script stops at it with ip's error and a non-zero exit", (t) => {
    if (!needsRoot(t)) return;
    const { script } = scriptOf(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'node1');
    const r = spawnSync(
      'unshare',
      ['--net', 'sh', '-c', `ip link add eth0 type veth peer name p0; sh ${script}`],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /eth1\.100/);
  });
});

// Routed networks: the routing tables, the rules and the unreachable default, on this kernel with
// veths standing in for eth1 and eth2 (no VLANs: routed-flat's networks are untagged).
const ROUTED_STATE = `${STATE}; echo; ip -4 -j rule; echo; ip -6 -j rule; echo; ip -4 -j route show table all; echo; ip -6 -j route show table all`;

/** ARP requests from 192.0.2.1 on an interface (argv[1]) for each address: who answers, by MAC. */
const ASK = `
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806)); s.bind((sys.argv[1], 0)); s.settimeout(0.2)
me = s.getsockname()[4]
for target in sys.argv[2:]:
    t = socket.inet_aton(target)
    s.send(b'\\xff' * 6 + me + b'\\x08\\x06' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + me + socket.inet_aton('192.0.2.1') + bytes(6) + t)
    answers, end = [], time.time() + 0.5
    while time.time() < end:
        try: f = s.recv(64)
        except socket.timeout: break
        if f[20:22] == b'\\x00\\x02' and f[28:32] == t: answers.append(f[22:28].hex(':'))
    print(target, ' '.join(answers) or 'none')
`;

describe('network.sh: routed networks', () => {
  test('routed-flat node2: rules and tables twice = once; the tables hold the unreachable default', (t) => {
    if (!needsRoot(t)) return;
    const { plan, script } = scriptOf(join(EXAMPLES_DIR, 'routed-flat.yaml'), 'node2');
    const sysctl = fileOf(plan, FILES.sysctl);
    const runs = runTwice(plan, script, '', ROUTED_STATE, `sysctl -q -p ${sysctl}; `);
    assert.deepEqual(runs.codes, [0, 0], runs.stderr);
    assert.equal(runs.states[1], runs.states[0]);
    const [, , , rules4, rules6, routes4, routes6] = JSON.parse(runs.states[0] as string) as [
      unknown,
      unknown,
      unknown,
      { priority: number; iif?: string; src?: string; srclen?: number; table: string }[],
      { priority: number; iif?: string; src?: string; table: string }[],
      { dst: string; type?: string; dev?: string; gateway?: string; metric?: number; table?: string }[],
      { dst: string; type?: string; dev?: string; gateway?: string; metric?: number; table?: string }[],
    ];
    const ours = (rules: { priority: number; iif?: string; src?: string; table: string }[]) =>
      rules
        .filter((r) => r.priority >= 1000 && r.priority < 2000)
        .map((r) => `${r.priority} ${r.iif ?? r.src} ${r.table}`);
    assert.deepEqual(ours(rules4), [
      '1000 eth1 500',
      '1001 192.0.2.0 500',
      '1010 eth2 100',
      '1011 10.50.0.0 100',
    ]);
    assert.deepEqual(ours(rules6), ['1000 eth1 500', '1001 2001:db8:: 500']);
    const table = (routes: typeof routes4, id: string) =>
      routes
        .filter((r) => r.table === id)
        .map((r) => [r.type ?? 'unicast', r.dst, r.gateway ?? r.dev, r.metric ?? 0].join(' '))
        .sort();
    assert.deepEqual(table(routes4, '500'), [
      'unicast 192.0.2.0/24 eth1 0',
      'unicast default 192.0.2.1 0',
      'unreachable default  4294967295',
    ]);
    assert.deepEqual(table(routes6, '500'), [
      'unicast 2001:db8::/64 eth1 1024',
      'unicast default 2001:db8::1 1024',
      'unreachable default lo 4294967295',
    ]);
    assert.deepEqual(table(routes4, '100'), [
      'unicast 10.50.0.0/24 eth2 0',
      'unicast default 10.50.0.1 0',
      'unreachable default  4294967295',
    ]);
  });

  test("routed-flat node1, internal's router: its gateway on eth2, only a to-rule, no default in table 100", (t) => {
    if (!needsRoot(t)) return;
    const { plan, script } = scriptOf(join(EXAMPLES_DIR, 'routed-flat.yaml'), 'node1');
    const runs = runTwice(plan, script, '', ROUTED_STATE, `sysctl -q -p ${fileOf(plan, FILES.sysctl)}; `);
    assert.deepEqual(runs.codes, [0, 0], runs.stderr);
    assert.equal(runs.states[1], runs.states[0]);
    const [, addrs, , rules4, , routes4] = JSON.parse(runs.states[0] as string) as [
      unknown,
      { ifname: string; addr_info: { local: string; family: string }[] }[],
      unknown,
      { priority: number; dst?: string; table: string }[],
      unknown,
      { dst: string; type?: string; gateway?: string; table?: string }[],
    ];
    const eth2 = addrs.find((a) => a.ifname === 'eth2')?.addr_info.map((a) => `${a.family} ${a.local}`);
    assert.deepEqual(eth2, ['inet 10.50.0.1'], 'the gateway, and no IPv6 (disable_ipv6: no subnet6)');
    assert.deepEqual(
      rules4.filter((r) => r.table === '100').map((r) => `${r.priority} to ${r.dst}`),
      ['1012 to 10.50.0.0'],
    );
    assert.deepEqual(
      routes4
        .filter((r) => r.table === '100')
        .map((r) => `${r.type ?? 'unicast'} ${r.dst}`)
        .sort(),
      ['unicast 10.50.0.0/24', 'unreachable default'],
    );
  });

  test('after ifdown; ifup of the uplink the node answers ARP for its guest only, not the whole subnet', (t) => {
    if (!needsRoot(t)) return;
    const { plan, script } = scriptOf(join(EXAMPLES_DIR, 'routed-flat.yaml'), 'node2');
    const askPy = join(scratch, 'ask.py');
    writeFileSync(askPy, ASK);
    // eth1's other end: the upstream router's side of the network public.
    const ask = `python3 ${askPy} peer${hardware(plan).indexOf('eth1')}`;
    const body = [
      ...hardware(plan).map((p, i) => `ip link add ${p} type veth peer name peer${i}`),
      ...hardware(plan).map((_, i) => `ip link set peer${i} up`),
      `sh ${script} && sysctl -q -p ${fileOf(plan, FILES.sysctl)}`,
      // A guest of this node at 192.0.2.11 (what nic up adds: its /32 to the tap).
      'ip link add tap1 type veth peer name tap1g && ip link set tap1g up && ip link set tap1 up',
      'ip route replace 192.0.2.11/32 proto static dev tap1 table 500',
      `echo "up: $(${ask} 192.0.2.11 192.0.2.99)"`,
      'ip link set eth1 down; ip link set eth1 up',
      `echo "bounced: $(${ask} 192.0.2.11 192.0.2.99)"`,
      // The same without the unreachable default: the lookup falls through to the main default.
      'ip route del unreachable default metric 4294967295 table 500',
      `echo "without: $(${ask} 192.0.2.11 192.0.2.99)"`,
      "ip -br link show dev eth1 | awk '{ print $3 }'",
    ].join('\n');
    const r = spawnSync('unshare', ['--net', 'sh', '-c', body], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const mac = (r.stdout.trim().split('\n').at(-1) as string).trim();
    const said = r.stdout.replaceAll(mac, 'NODE');
    assert.match(said, /^up: 192\.0\.2\.11 NODE\n192\.0\.2\.99 none$/m);
    assert.match(said, /^bounced: 192\.0\.2\.11 NODE\n192\.0\.2\.99 none$/m);
    // The control: without the unreachable default the node answers for an address nobody has.
    assert.match(said, /^without: 192\.0\.2\.11 NODE\n192\.0\.2\.99 NODE$/m);
  });

  test('routed-flat nftables.conf loads, and the elements nic up adds for a routed NIC with it', (t) => {
    if (!needsRoot(t)) return;
    const cluster = readCluster(join(EXAMPLES_DIR, 'routed-flat.yaml'));
    const plan = compileCluster(cluster).find((p) => p.node === 'node1') as HostPlan;
    const conf = fileOf(plan, FILES.nftables);
    const vm1 = cluster.guests.find((g) => g.name === 'vm1');
    assert.ok(vm1);
    const lines = vm1.nics.flatMap((nic, i) => {
      const network = cluster.routed.find((n) => n.name === nic.network);
      assert.ok(network);
      return routedGuard(nic, network, `tap${i}`).elements.map((e) => elementLine('add', e));
    });
    const elements = join(scratch, 'routed-elements.nft');
    writeFileSync(elements, `${lines.join('\n')}\n`);
    const r = spawnSync(
      'unshare',
      [
        '--net',
        'sh',
        '-c',
        `nft -c -f ${conf} && nft -f ${conf} && nft -f ${elements} && nft list map arp convergent_arp arp_source`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"eth1" comment "networks\.public\.arpAddress" : 192\.0\.2\.254/);
    assert.match(r.stdout, /"tap0" : 192\.0\.2\.1/);
    assert.match(r.stdout, /"tap1" : 10\.50\.0\.1/);
    assert.doesNotMatch(r.stdout, /"eth2"/, 'node1 routes internal: its own gateway is the source there');
  });
});
