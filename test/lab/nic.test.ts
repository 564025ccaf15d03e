// `convergent nic up|down` on a node in a scratch namespace, with the node's own rendered files and
// real frames: a guest behind its tap (a veth into its own namespace) sends what a misbehaving guest
// would (another's address, another's ARP, another MAC), the wire sends what another network's
// guests would, and sniffers on the other side say which frames got through.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import { PYTHON } from '../../src/lab/agent.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { realRunner } from '../../src/lab/run.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { execWith, nicUp } from '../../src/systems/cluster/nic/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { MAIN } from '../support/cli.ts';
import { needsRoot } from '../support/root.ts';

const FRAMES = join(import.meta.dirname, 'nic-frames.py');
const scratch = mkdtempSync(join(tmpdir(), 'convergent-nic-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// A bridged network untagged on trunk eth1 (no VLAN device on this kernel), MTU 9000 from the trunk.
const LAN = `name: flat
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }
interfaces: { eth1: { mtu: 9000 } }
nodes: { n1: { address: 192.168.122.21 }, n2: { address: 192.168.122.22 } }
networks:
  lan: { mode: bridged, trunk: eth1, bridge: brlan, subnet: 172.20.0.0/24, gateway: 172.20.0.1 }
guests:
  web: { node: n1, nics: [{ mac: "52:54:00:20:00:10", address: 172.20.0.10, address6: "2001:db8::10", firewall: protected }] }
  bastion: { node: n1, nics: [{ mac: "52:54:00:20:00:11", address: 172.20.0.11, firewall: limited }] }
  router: { node: n1, nics: [{ mac: "52:54:00:20:00:12", address: 172.20.0.12, spoof: allow }] }
  other: { node: n2, nics: [{ mac: "52:54:00:20:00:13", address: 172.20.0.13 }] }
`;
// A private network by MAC prefix on trunk eth2: frames from another prefix come over the wire.
const PRIVATE = `name: prv
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }
interfaces: { eth1: {} }
nodes: { n1: { address: 192.168.122.21 } }
networks:
  private-a: { mode: private, trunk: eth1, bridge: prv0, macPrefix: "aa:00:10", subnet: 192.168.10.0/24 }
guests:
  pa1: { node: n1, nics: [{ mac: "aa:00:10:00:00:01", address: 192.168.10.1 }] }
  pa2: { node: n1, nics: [{ mac: "aa:00:10:00:00:02", address: 192.168.10.2 }] }
`;

function specFile(name: string, text: string): string {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** A node n1 with its rendered files loaded (network.sh, nftables.conf), the trunk eth1 a veth to the namespace "wire". */
function node(run: NamespaceRun, file: string, bridge: string, faults: Fault[] = []) {
  const ns = run.add('n1');
  const wire = run.add('wire');
  const plan = compileCluster(readCluster(file), { faults }).find((p) => p.node === 'n1');
  assert.ok(plan);
  const files = new Map(renderNode(plan).map((f) => [f.path, textOf(f)]));
  const sh = (argv: string[], input?: string) => {
    const r = run.exec(ns, argv, input);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  quiet(run, ns);
  quiet(run, wire);
  sh(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
  sh(['ip', 'link', 'add', 'eth1', 'mtu', '9000', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wire]);
  // The node's own network.sh: its uplink bridge and the network's bridge over the trunk eth1.
  sh(['sh', '-s'], files.get(FILES.networkScript));
  assert.equal(JSON.parse(sh(['ip', '-j', 'link', 'show', 'dev', 'eth1']))[0].master, bridge);
  run.exec(wire, ['ip', 'link', 'set', 'eth0', 'mtu', '9000', 'up']);
  sh(['nft', '-f', '-'], files.get(FILES.nftables));
  return { ns, wire, sh, exec: execWith(realRunner, (argv) => ['ip', 'netns', 'exec', ns, ...argv]) };
}

/** No IPv6 chatter of the kernel's own among the tagged frames. */
function quiet(run: NamespaceRun, ns: string): void {
  run.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
}

/** A guest's namespace behind `tap` on the node, its eth0 with the NIC's MAC. */
function guest(run: NamespaceRun, nodeNs: string, name: string, tap: string, mac: string): string {
  const ns = run.add(name);
  quiet(run, ns);
  const r = run.exec(nodeNs, [
    'ip',
    'link',
    'add',
    tap,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'address',
    mac,
    'netns',
    ns,
  ]);
  assert.equal(r.code, 0, r.stderr);
  run.exec(ns, ['ip', 'link', 'set', 'eth0', 'mtu', '9000', 'up']);
  return ns;
}

interface Frame {
  kind: 'udp' | 'tcp' | 'icmp' | 'arp' | 'udp6' | 'dad';
  tag: number;
  smac: string;
  dmac: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  flags?: 'S' | 'SA';
  op?: 1 | 2;
  target?: string;
}

/** Sends `frames` from (ns, iface) while sniffers listen; the tags each sniffer saw. */
async function through(
  run: NamespaceRun,
  from: [string, string],
  frames: Frame[],
  listeners: [string, string][],
): Promise<number[][]> {
  const sniffers = listeners.map(([ns, iface]) => sniff(run, ns, iface));
  await Promise.all(sniffers.map((s) => s.ready));
  const r = run.exec(from[0], [PYTHON, FRAMES, 'send', from[1], JSON.stringify(frames)]);
  assert.equal(r.code, 0, r.stderr);
  return Promise.all(sniffers.map((s) => s.seen));
}

function sniff(run: NamespaceRun, ns: string, iface: string) {
  const child = spawn('ip', ['netns', 'exec', ns, PYTHON, FRAMES, 'sniff', iface, '1.5']);
  const done = run.track(child.pid as number);
  let out = '';
  let readyNow: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    readyNow = resolve;
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('"ready"')) readyNow();
  });
  const seen = new Promise<number[]>((resolve) =>
    child.on('close', () => {
      done();
      readyNow();
      const last = out.trim().split('\n').at(-1) ?? '{}';
      resolve((JSON.parse(last) as { seen?: number[] }).seen ?? []);
    }),
  );
  return { ready, seen };
}

/** `convergent nic …` run on the node (inside its namespace), as a hook would. */
function cli(ns: string, ...args: string[]) {
  const r = realRunner([
    'ip',
    'netns',
    'exec',
    ns,
    process.execPath,
    '--import',
    'tsx',
    MAIN,
    'nic',
    ...args,
  ]);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** What a tap can leave behind: the ruleset and the links, routes and neighbours of the node. */
function state(sh: (argv: string[]) => string) {
  return {
    ruleset: sh(['nft', '-j', 'list', 'ruleset']),
    links: sh(['ip', '-j', 'link']),
    routes: sh(['ip', '-j', 'route', 'show', 'table', 'all']),
    neighbours: sh(['ip', '-j', 'neigh']),
    // The bridges' forwarding entries (a device's own "self" entries go with the device).
    fdb: JSON.stringify(
      (JSON.parse(sh(['bridge', '-j', 'fdb'])) as { master?: string }[]).filter((e) => e.master),
    ),
  };
}

describe('nic up|down on a node', () => {
  test('twice is once, down leaves nothing of the tap, a tap or guest the spec does not know is refused', (t) => {
    if (!needsRoot(t)) return;
    const file = specFile('lan', LAN);
    const run = new NamespaceRun();
    try {
      const n = node(run, file, 'brlan');
      n.sh(['ip', 'link', 'add', 'tap5', 'type', 'veth', 'peer', 'name', 'guest5']);
      const before = state(n.sh);
      const first = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(
        first.stdout,
        'nic web:0 on tap5: bridge brlan mtu 9000, anti-spoofing 52:54:00:20:00:10 172.20.0.10 2001:db8::10, profile protected\n',
      );
      const once = state(n.sh);
      const second = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web:0', '--tap', 'tap5');
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(state(n.sh), once, 'nic up twice leaves what once did');
      const tap = JSON.parse(n.sh(['ip', '-j', 'link', 'show', 'dev', 'tap5']))[0];
      assert.equal(tap.master, 'brlan');
      assert.equal(tap.mtu, 9000);
      // A record on the tap that nft disagrees with (another verdict), or none at all: the sets are read.
      for (const alias of ['convergent f>limited', '']) {
        n.sh(['ip', 'link', 'set', 'dev', 'tap5', 'alias', alias]);
        const r = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          state(n.sh),
          once,
          `with alias ${JSON.stringify(alias)}, nic up again leaves what once did`,
        );
      }
      // Another guest's NIC on the same tap: nothing of web's stays.
      const other = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'bastion', '--tap', 'tap5');
      assert.equal(other.code, 0, other.stderr);
      const ports = n.sh(['nft', 'list', 'table', 'bridge', 'convergent_ports']);
      assert.doesNotMatch(ports, /52:54:00:20:00:10|172\.20\.0\.10|protected }/);
      assert.match(ports, /"tap5" \. 52:54:00:20:00:11 \. 172\.20\.0\.11/);
      const back = cli(n.ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(state(n.sh), once, 'web plugged back leaves what once did');

      for (const [args, said] of [
        [['--nic', 'nobody', '--tap', 'tap5'], 'the spec has no guest "nobody"'],
        [['--nic', 'web:3', '--tap', 'tap5'], 'guest web has no NIC 3'],
        [['--nic', 'other', '--tap', 'tap5'], 'guest other is on node n2 in the spec, not on n1'],
        [['--nic', 'bastion', '--tap', 'tap9'], 'no interface tap9 on this node'],
      ] as const) {
        const r = cli(n.ns, 'up', file, '--node', 'n1', ...args);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`refused, nothing changed: ${said}.*\\n  fix: `));
        assert.deepEqual(state(n.sh), once, `${args.join(' ')} changed nothing`);
      }

      const down = cli(n.ns, 'down', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stdout, 'nic down tap5 on n1: 6 elements removed, out of bridge brlan\n');
      const after = state(n.sh);
      for (const [what, text] of Object.entries(after)) {
        if (what === 'links') continue; // the tap itself is the hypervisor's: it stays until it goes
        assert.doesNotMatch(text, /tap5/, `${what} still mentions tap5`);
      }
      assert.equal(JSON.parse(n.sh(['ip', '-j', 'link', 'show', 'dev', 'tap5']))[0].master, undefined);
      assert.equal(after.ruleset, before.ruleset, 'the ruleset is as before nic up');

      // After the guest stopped, its tap is gone: not an error.
      n.sh(['ip', 'link', 'del', 'tap5']);
      const gone = cli(n.ns, 'down', file, '--node', 'n1', '--tap', 'tap5', '--local-only');
      assert.equal(gone.code, 0, gone.stderr);
      assert.equal(gone.stdout, 'nic down tap5 on n1: 0 elements removed, tap5 is gone\n');
    } finally {
      run.cleanup();
    }
  });

  test('without the ruleset loaded, nic up refuses and names the fix', (t) => {
    if (!needsRoot(t)) return;
    const file = specFile('lan', LAN);
    const run = new NamespaceRun();
    try {
      const ns = run.add('bare');
      run.exec(
        ns,
        ['ip', '-batch', '-'],
        'link add brlan type bridge\nlink add tap5 type veth peer name g5\n',
      );
      const r = cli(ns, 'up', file, '--node', 'n1', '--nic', 'web', '--tap', 'tap5');
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /table bridge convergent_ports is not loaded on this node.*\n {2}fix: .*nft -f nftables\.conf/,
      );
      assert.equal(
        JSON.parse(run.exec(ns, ['ip', '-j', 'link', 'show', 'dev', 'tap5']).stdout)[0].master,
        undefined,
      );
    } finally {
      run.cleanup();
    }
  });
});

const WEB = '52:54:00:20:00:10';
const BASTION = '52:54:00:20:00:11';
const ROUTER = '52:54:00:20:00:12';
const GATEWAY_MAC = '02:00:00:00:00:01';

/** The guests of LAN plugged through nicUp on n1 (the lab's way), behind taps tap5..tap7. */
function lanNode(run: NamespaceRun, faults: Fault[] = []) {
  const file = specFile('lan', LAN);
  const n = node(run, file, 'brlan', faults);
  const cluster = readCluster(file);
  const guests = { web: ['tap5', WEB], bastion: ['tap6', BASTION], router: ['tap7', ROUTER] } as const;
  const ns: Record<string, string> = {};
  for (const [name, [tap, mac]] of Object.entries(guests)) {
    ns[name] = guest(run, n.ns, name, tap, mac);
    nicUp(n.exec, cluster, 'n1', name, tap);
  }
  run.exec(n.wire, ['ip', 'link', 'set', 'eth0', 'address', GATEWAY_MAC]);
  return { n, ns };
}

const fromGuest = (smac: string, src: string) => ({ smac, dmac: GATEWAY_MAC, src, dst: '172.20.0.1' });

describe('guest ports with real frames', () => {
  test('anti-spoofing: another source (UDP, TCP), another ARP sender, another MAC are dropped; the own pass', async (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const { n, ns } = lanNode(run);
      const web = fromGuest(WEB, '172.20.0.10');
      const frames: Frame[] = [
        { kind: 'udp', tag: 101, ...web, sport: 4000, dport: 53 },
        { kind: 'tcp', tag: 102, ...web, sport: 4000, dport: 80 },
        { kind: 'arp', tag: 103, ...web, op: 2 },
        { kind: 'udp', tag: 111, ...fromGuest(WEB, '172.20.0.50'), sport: 4000, dport: 53 },
        { kind: 'tcp', tag: 112, ...fromGuest(WEB, '172.20.0.50'), sport: 4000, dport: 80 },
        { kind: 'arp', tag: 113, ...fromGuest(WEB, '172.20.0.11'), op: 2 },
        { kind: 'udp', tag: 114, ...fromGuest('52:54:00:20:00:99', '172.20.0.10'), sport: 4000, dport: 53 },
        {
          kind: 'udp6',
          tag: 104,
          ...web,
          src: 'fe80::5054:ff:fe20:10',
          dst: 'fe80::1',
          sport: 546,
          dport: 547,
        },
        {
          kind: 'udp6',
          tag: 115,
          ...web,
          src: 'fe80::5054:ff:fe20:11',
          dst: 'fe80::1',
          sport: 546,
          dport: 547,
        },
        { kind: 'dad', tag: 105, ...web, src: '::', dst: 'ff02::1:ff00:10', target: '2001:db8::10' },
      ];
      const [wire] = await through(run, [ns.web as string, 'eth0'], frames, [[n.wire, 'eth0']]);
      assert.deepEqual(wire, [101, 102, 103, 104, 105], "only the guest's own frames reach the wire");

      const spoofed = [
        { kind: 'udp', tag: 121, ...fromGuest(ROUTER, '172.20.0.50'), sport: 4000, dport: 53 },
      ] as Frame[];
      const [allowed] = await through(run, [ns.router as string, 'eth0'], spoofed, [[n.wire, 'eth0']]);
      assert.deepEqual(allowed, [121], 'spoof: allow lets another source through');
    } finally {
      run.cleanup();
    }
  });

  test('fault no-antispoof: the spoofed frame gets through', async (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const { n, ns } = lanNode(run, ['no-antispoof']);
      const frames = [
        { kind: 'udp', tag: 131, ...fromGuest(WEB, '172.20.0.50'), sport: 4000, dport: 53 },
      ] as Frame[];
      const [wire] = await through(run, [ns.web as string, 'eth0'], frames, [[n.wire, 'eth0']]);
      assert.deepEqual(wire, [131]);
    } finally {
      run.cleanup();
    }
  });

  test('profiles: protected drops a new TCP to 22 but passes ICMP and a SYN-ACK; limited accepts 22 and 3389', async (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const { n, ns } = lanNode(run);
      const to = (dmac: string, dst: string) => ({ smac: GATEWAY_MAC, dmac, src: '172.20.0.1', dst });
      const web = to(WEB, '172.20.0.10');
      const bastion = to(BASTION, '172.20.0.11');
      const frames: Frame[] = [
        { kind: 'tcp', tag: 141, ...web, sport: 5000, dport: 22 },
        { kind: 'icmp', tag: 142, ...web },
        { kind: 'tcp', tag: 143, ...web, sport: 80, dport: 5000, flags: 'SA' },
        { kind: 'udp', tag: 144, ...web, sport: 53, dport: 5000 },
        { kind: 'udp', tag: 145, ...web, sport: 5000, dport: 161 },
        { kind: 'tcp', tag: 151, ...bastion, sport: 5000, dport: 22 },
        { kind: 'tcp', tag: 152, ...bastion, sport: 5000, dport: 3389 },
        { kind: 'tcp', tag: 153, ...bastion, sport: 5000, dport: 80 },
        { kind: 'icmp', tag: 154, ...bastion },
      ];
      const [atWeb, atBastion] = await through(run, [n.wire, 'eth0'], frames, [
        [ns.web as string, 'eth0'],
        [ns.bastion as string, 'eth0'],
      ]);
      // Unknown unicast is flooded: each guest may also see the other's frames, so look at its own.
      assert.deepEqual(
        atWeb?.filter((tag) => tag < 150),
        [142, 143, 144],
      );
      assert.deepEqual(
        atBastion?.filter((tag) => tag > 150),
        [151, 152, 154],
      );
    } finally {
      run.cleanup();
    }
  });
});

describe('private network by MAC prefix with real frames', () => {
  const A1 = 'aa:00:10:00:00:01';
  async function leaks(faults: Fault[]) {
    const run = new NamespaceRun();
    try {
      const file = specFile('prv', PRIVATE);
      const n = node(run, file, 'prv0', faults);
      const cluster = readCluster(file);
      const pa1 = guest(run, n.ns, 'pa1', 'tap1', A1);
      const pa2 = guest(run, n.ns, 'pa2', 'tap2', 'aa:00:10:00:00:02');
      nicUp(n.exec, cluster, 'n1', 'pa1', 'tap1');
      nicUp(n.exec, cluster, 'n1', 'pa2', 'tap2');
      const bcast = { dmac: 'ff:ff:ff:ff:ff:ff', dst: '192.168.10.255', sport: 5000, dport: 5000 };
      const fromWire: Frame[] = [
        { kind: 'udp', tag: 161, ...bcast, smac: 'aa:00:10:00:00:09', src: '192.168.10.9' },
        { kind: 'udp', tag: 162, ...bcast, smac: 'aa:00:20:00:00:09', src: '192.168.10.9' },
        { kind: 'arp', tag: 163, ...bcast, smac: 'aa:00:20:00:00:09', src: '192.168.10.9', op: 1 },
        {
          kind: 'udp',
          tag: 164,
          ...bcast,
          dmac: '01:00:5e:00:00:fb',
          smac: 'aa:00:20:00:00:09',
          src: '192.168.10.9',
        },
      ];
      const [wireToPa1] = await through(run, [n.wire, 'eth0'], fromWire, [[pa1, 'eth0']]);
      const fromPa1: Frame[] = [
        { kind: 'udp', tag: 171, ...bcast, smac: A1, src: '192.168.10.1' },
        { kind: 'udp', tag: 172, ...bcast, smac: 'aa:00:10:00:00:77', src: '192.168.10.1' },
      ];
      const [pa1ToPa2] = await through(run, [pa1, 'eth0'], fromPa1, [[pa2, 'eth0']]);
      // The node itself sends onto the bridge (its own multicast): through the output hook.
      const nodeMac = JSON.parse(n.sh(['ip', '-j', 'link', 'show', 'dev', 'prv0']))[0].address as string;
      const own = [
        { kind: 'udp', tag: 181, ...bcast, dmac: '01:00:5e:00:00:01', smac: nodeMac, src: '192.168.10.254' },
      ] as Frame[];
      const [nodeToPa1] = await through(run, [n.ns, 'prv0'], own, [[pa1, 'eth0']]);
      return { wireToPa1, pa1ToPa2, nodeToPa1 };
    } finally {
      run.cleanup();
    }
  }

  test("only the own prefix reaches a guest (unicast, broadcast, ARP, multicast, the node's own); a changed MAC is cut off", async (t) => {
    if (!needsRoot(t)) return;
    const seen = await leaks([]);
    assert.deepEqual(seen, { wireToPa1: [161], pa1ToPa2: [171], nodeToPa1: [] });
  });

  test("fault private-forward-only: the node's own multicast leaks into the private network", async (t) => {
    if (!needsRoot(t)) return;
    const seen = await leaks(['private-forward-only']);
    assert.deepEqual(seen, { wireToPa1: [161], pa1ToPa2: [171], nodeToPa1: [181] });
  });
});
