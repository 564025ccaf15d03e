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

/** In a fresh network namespace: the hardware, then network.sh `times` times, the state after each. */
function runTwice(plan: HostPlan, script: string, before = ''): Runs {
  const ports = hardware(plan).map((p, i) => `ip link add ${p} type veth peer name peer${i}`);
  const body = [
    ...ports,
    before,
    `sh ${script}; echo "code $?"; ${STATE}; echo '=== next'`,
    `sh ${script}; echo "code $?"; ${STATE}`,
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
