// A node in scratch namespaces for the nic lab tests (test/lab/nic*.test.ts): the node's own rendered
// files loaded, guests behind taps (veths into namespaces of their own), raw frames sent and sniffed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import { PYTHON } from '../../src/lab/agent.ts';
import type { NamespaceRun } from '../../src/lab/netns.ts';
import { realRunner } from '../../src/lab/run.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { execWith } from '../../src/systems/cluster/nic/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { MAIN } from './cli.ts';

export const FRAMES = join(import.meta.dirname, '..', 'lab', 'nic-frames.py');
export const scratch = mkdtempSync(join(tmpdir(), 'convergent-nic-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// A bridged network untagged on trunk eth1 (no VLAN device on this kernel), MTU 9000 from the trunk.
export const LAN = `name: flat
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
export const PRIVATE = `name: prv
uplink: { subnet: 192.168.122.0/24, gateway: 192.168.122.1, bridge: br0, ports: [eth0] }
interfaces: { eth1: {} }
nodes: { n1: { address: 192.168.122.21 } }
networks:
  private-a: { mode: private, trunk: eth1, bridge: prv0, macPrefix: "aa:00:10", subnet: 192.168.10.0/24 }
guests:
  pa1: { node: n1, nics: [{ mac: "aa:00:10:00:00:01", address: 192.168.10.1 }] }
  pa2: { node: n1, nics: [{ mac: "aa:00:10:00:00:02", address: 192.168.10.2 }] }
`;

export function specFile(name: string, text: string): string {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** A node n1 with its rendered files loaded (network.sh, nftables.conf), the trunk eth1 a veth to the namespace "wire". */
export function node(run: NamespaceRun, file: string, bridge: string, faults: Fault[] = []) {
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
export function quiet(run: NamespaceRun, ns: string): void {
  run.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
}

/** A guest's namespace behind `tap` on the node, its eth0 with the NIC's MAC. */
export function guest(run: NamespaceRun, nodeNs: string, name: string, tap: string, mac: string): string {
  const ns = run.add(name);
  quiet(run, ns);
  tapInto(run, nodeNs, tap, ns, mac);
  run.exec(ns, ['ip', 'link', 'set', 'eth0', 'mtu', '9000', 'up']);
  return ns;
}

/** The tap on the node, a veth whose other end is the guest's eth0 with the NIC's MAC. */
function tapInto(run: NamespaceRun, nodeNs: string, tap: string, ns: string, mac: string): void {
  const argv = [
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
  ];
  const r = run.exec(nodeNs, argv);
  assert.equal(r.code, 0, r.stderr);
}

export interface Frame {
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
export async function through(
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

export function sniff(run: NamespaceRun, ns: string, iface: string) {
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
export function cli(ns: string, ...args: string[]) {
  const r = realRunner([
    'ip',
    'netns',
    'exec',
    ns,
    // What a hook's log gets: plain text, whatever the test runner's environment says about colour.
    'env',
    '--unset=FORCE_COLOR',
    'NO_COLOR=1',
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
export function state(sh: (argv: string[]) => string) {
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

// Routed networks (test/lab/nic-routed.test.ts): the upstream router on a switch in the namespace
// "wire", and nodes whose trunk eth1 is the routed network's uplink device (untagged, as
// examples/routed-flat.yaml's public: table 500, 192.0.2.0/24, 2001:db8::/64).

/** The routed tables as the hooks need them: the sets and maps nic up fills, the chains they jump to. */
export const ROUTED_TABLES = `table inet convergent_routed {
  set plugged { type ifname; }
  set tap_ipv4 { type ifname . ipv4_addr; }
  set tap_ipv6 { type ifname . ipv6_addr; }
  chain antispoof { }
  chain protected { }
  chain limited { }
  map from_guest { type ifname : verdict; }
  map to_profile { type ifname : verdict; }
}
table arp convergent_arp {
  map arp_source { type ifname : ipv4_addr; }
}
`;

/** The upstream router: a bridge "sw" in `wire` holding the gateways 192.0.2.1 and 2001:db8::1. */
export function upstream(run: NamespaceRun): string {
  const wire = run.add('wire');
  const r = run.exec(wire, [
    'sh',
    '-ec',
    'sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0; ip link add sw type bridge; ip link set sw up; ip addr add 192.0.2.1/24 dev sw; ip addr add 2001:db8::1/64 dev sw nodad',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return wire;
}

/**
 * A node `name` on the switch, set up as its network.sh would for the routed network (its trunk eth1
 * the uplink; table 500 with the subnets and the upstream defaults; rules iif eth1 and from the
 * subnets; forwarding, proxy ARP and proxy NDP on eth1) and the routed tables loaded.
 */
export function routedNode(run: NamespaceRun, wire: string, name: string) {
  const ns = run.add(name);
  const sh = (argv: string[], input?: string) => {
    const r = run.exec(ns, argv, input);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // No duplicate address detection: a tentative link-local address sends and answers nothing for a second.
  sh(['sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
  sh(['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', `${name}-e1`, 'netns', wire]);
  const w = run.exec(wire, ['sh', '-ec', `ip link set ${name}-e1 master sw up`]);
  assert.equal(w.code, 0, w.stderr);
  sh(
    ['sh', '-e'],
    `sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip link set eth1 up
sysctl -qw net.ipv4.conf.eth1.proxy_arp=1 net.ipv6.conf.eth1.proxy_ndp=1 net.ipv4.neigh.eth1.proxy_delay=0
ip route add 192.0.2.0/24 dev eth1 table 500
ip route add default via 192.0.2.1 dev eth1 table 500
ip -6 route add 2001:db8::/64 dev eth1 table 500
ip -6 route add default via 2001:db8::1 dev eth1 table 500
ip rule add iif eth1 lookup 500 pref 1000
ip rule add from 192.0.2.0/24 lookup 500 pref 1001
ip -6 rule add iif eth1 lookup 500 pref 1000
ip -6 rule add from 2001:db8::/64 lookup 500 pref 1001
`,
  );
  sh(['nft', '-f', '-'], ROUTED_TABLES);
  const mac = JSON.parse(sh(['ip', '-j', 'link', 'show', 'dev', 'eth1']))[0].address as string;
  return { ns, sh, mac, exec: execWith(realRunner, (argv) => ['ip', 'netns', 'exec', ns, ...argv]) };
}

/**
 * A routed guest behind `tap` on the node: its address/24 and address6/64, defaults via the gateway and
 * the tap's link-local. The /64 is not on-link (noprefixroute, as radvd's AdvOnLink off says): the
 * tap answers no NS but for its own address, so the guest sends everything to it, gateway6 included.
 */
export function routedGuest(
  run: NamespaceRun,
  nodeNs: string,
  name: string,
  tap: string,
  nic: { mac: string; address: string; address6: string },
): string {
  const ns = run.add(name);
  tapInto(run, nodeNs, tap, ns, nic.mac);
  const g = run.exec(
    ns,
    ['sh', '-e'],
    `sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
ip link set eth0 up
ip addr add ${nic.address}/24 dev eth0
ip route add default via 192.0.2.1 dev eth0
ip addr add ${nic.address6}/64 dev eth0 nodad noprefixroute
ip -6 route add default via fe80::ce47:52ff:fe4e:4554 dev eth0
`,
  );
  assert.equal(g.code, 0, g.stderr);
  return ns;
}

// What the upstream hears on the switch: ARP (op, sender MAC and address, target address) and
// neighbour advertisements (target, flags), as JSON lines; "ready" once listening.
const HEAR = `
import json, socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.1)
print('"ready"', flush=True)
end, heard = time.time() + float(sys.argv[2]), []
while time.time() < end:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    kind = f[12:14]
    if kind == b"\\x08\\x06":
        op, sha, spa, tha, tpa = struct.unpack("!6xH6s4s6s4s", f[14:42])
        heard.append({"arp": op, "from": sha.hex(":"), "sender": socket.inet_ntoa(spa), "target": socket.inet_ntoa(tpa), "dst": f[0:6].hex(":")})
    elif kind == b"\\x86\\xdd" and f[20] == 58 and f[54] == 136:
        flags = f[58]
        heard.append({"na": socket.inet_ntop(socket.AF_INET6, f[62:78]), "override": bool(flags & 0x20), "solicited": bool(flags & 0x40), "from": f[6:12].hex(":"), "hops": f[21]})
print(json.dumps(heard), flush=True)
`;

export interface Heard {
  arp?: number;
  na?: string;
  from: string;
  sender?: string;
  target?: string;
  override?: boolean;
  solicited?: boolean;
  hops?: number;
}

/** Listens on (ns, iface) for `seconds` while `act` runs; what was heard. */
export async function hear(run: NamespaceRun, ns: string, iface: string, seconds: number, act: () => void) {
  const child = spawn('ip', ['netns', 'exec', ns, PYTHON, '-c', HEAR, iface, String(seconds)]);
  const done = run.track(child.pid as number);
  let out = '';
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready"')) resolve();
    }),
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await ready;
  act();
  await closed;
  done();
  return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as Heard[];
}
