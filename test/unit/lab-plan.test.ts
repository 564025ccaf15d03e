// The lab's plan, without root: which namespaces and veths, which checks a spec gets when it has
// none, and what each probe expects. The lab tests then prove these with real traffic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { describeCapabilities, probeCapabilities } from '../../src/lab/capabilities.ts';
import { LabError } from '../../src/lab/errors.ts';
import { movesOf, unappliable } from '../../src/systems/cluster/lab/apply.ts';
import { prepare } from '../../src/systems/cluster/lab/lab.ts';
import { defaultChecks, probesOf, serversOf } from '../../src/systems/cluster/lab/probes.ts';
import { labTopology } from '../../src/systems/cluster/lab/topology.ts';
import { formatIPv4 } from '../../src/util/ipv4.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { clusterFromObject, clusterFromText } from '../support/spec.ts';

const part3 = join(EXAMPLES_DIR, 'part3-fullnat.yaml');
const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');
const specOf = (file: string) => parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('lab plan: topology', () => {
  test('interfaces carry the names the rendered files use; guests plug into vif-<guest>', () => {
    const t = labTopology(prepare(part4).cluster);
    const links = t.links.map((l) => `${l.a.host}:${l.a.ifname}-${l.b.host}:${l.b.ifname}`);
    assert.deepEqual(links, [
      'workstation:eth0-upstream:wan0',
      'node1:eth0-upstream:to-node1',
      'node2:eth0-upstream:to-node2',
      'node1:eth1.100-node2:eth1.100',
      'guest1:eth0-node1:vif-guest1',
      'guest2:eth0-node2:vif-guest2',
    ]);
    assert.equal(t.links.find((l) => l.a.host === 'guest1')?.a.mac, '52:54:00:05:05:c9');
    assert.equal(t.upstream.uplinkCidr, '192.168.122.1/24', 'the upstream holds the uplink gateway');
    assert.equal(t.workstation.cidr, '198.51.100.10/24');
    // eth1.100 on both ends: VLAN 100 on a veth pair of the parents, where the kernel has 802.1Q.
    assert.deepEqual(t.links.find((l) => l.a.ifname === 'eth1.100')?.vlan, {
      id: 100,
      parentA: 'eth1',
      parentB: 'eth1',
    });
  });

  test("the workstation's segment avoids the cluster's subnets", () => {
    const spec = specOf(part4);
    (spec.networks as { guestnet: object }).guestnet = {
      subnet: '198.51.100.0/24',
      gateway: '198.51.100.254',
      nodes: { node1: '198.51.100.251', node2: '198.51.100.252' },
      pipes: [{ node1: 'eth1.100', node2: 'eth1.100' }],
    };
    spec.guests = {
      guest1: { node: 'node1', address: '198.51.100.201' },
      guest2: { node: 'node2', address: '198.51.100.202' },
    };
    delete spec.checks;
    assert.equal(labTopology(clusterFromObject(spec)).workstation.cidr, '203.0.113.10/24');
  });

  test('a node without an uplink port cannot be plugged in: a clear error, before any side effect', () => {
    const text = readFileSync(part4, 'utf8').replace('  ports: [eth0]\n', '');
    assert.throws(
      () => labTopology(clusterFromText(text)),
      (err: Error) =>
        err instanceof LabError &&
        /node node1 has no uplink port, so the lab cannot plug it into the upstream segment; list the interface under its uplink bridge xenbr0, e.g. uplink: \{ ports: \[eth0\] \}/.test(
          err.message,
        ),
    );
  });

  test('long names fall back to numbered interfaces within 15 characters', () => {
    const spec = specOf(part4);
    spec.guests = { 'a-guest-with-a-long-name': { node: 'node1', address: '10.5.5.201' } };
    spec.forwards = [];
    delete spec.checks;
    const t = labTopology(clusterFromObject(spec));
    assert.equal(t.guests[0]?.vif, 'vif-1');
  });
});

describe('lab plan: derived checks', () => {
  test('stateless: every forward via every node; the guest must see the workstation; reply via the host', () => {
    const { cluster, topology } = prepare(part4);
    const checks = defaultChecks(cluster);
    assert.deepEqual(
      checks.map((c) => c.name),
      [
        'http/80 via node1 -> guest1',
        'http/80 via node2 -> guest1',
        'tcp/2202 via node1 -> guest2',
        'tcp/2202 via node2 -> guest2',
        'udp/123 via node1 -> guest1',
        'udp/123 via node2 -> guest1',
        'udp/10123 via node1 -> guest2',
        'udp/10123 via node2 -> guest2',
        'tcp/9000 guest1 -> workstation',
        'ping guest1 -> workstation',
        'arp guest1 -> gateway',
        'tcp/9000 guest2 -> workstation',
        'ping guest2 -> workstation',
        'arp guest2 -> gateway',
        'tcp/9000 guest1 -> guest2',
        'tcp/9000 guest2 -> guest1',
      ],
    );
    const [probe] = probesOf(cluster, topology, [checks[3] as (typeof checks)[number]]);
    assert.ok(probe);
    assert.equal(formatIPv4(probe.address), '192.168.122.12');
    assert.deepEqual(probe.server, { host: 'guest2', kind: 'tcp', port: 22 });
    assert.equal(probe.expect.sees, '198.51.100.10');
    assert.equal(probe.expect.answers, 'guest2');
    assert.equal(probe.expect.leaves, 'node2');
  });

  test("full-NAT: the guest must see the entering node's guest-bridge address; the reply leaves where it entered", () => {
    const spec = specOf(part3);
    delete spec.checks;
    const cluster = clusterFromText(stringify(spec));
    const checks = defaultChecks(cluster);
    const viaNode2 = checks.find((c) => c.name === 'http/80 via node2 -> guest1');
    assert.ok(viaNode2);
    const [probe] = probesOf(cluster, labTopology(cluster), [viaNode2]);
    assert.equal(probe?.expect.sees, '10.5.5.252');
    assert.equal(probe?.expect.leaves, 'node2');
    const arp = probesOf(cluster, labTopology(cluster), checks).find(
      (p) => p.check.name === 'arp guest2 -> gateway',
    );
    assert.equal(arp?.expect.answersMac, cluster.nodes[1]?.bridgeMac);
  });

  test('servers: what each host listens on, from the checks', () => {
    const p = prepare(part3);
    assert.deepEqual(Object.fromEntries(p.servers), {
      guest1: { http: [80], tcp: [22], udp: [123] },
      guest2: { http: [80], tcp: [22, 9000], udp: [] },
      workstation: { http: [], tcp: [9000], udp: [] },
    });
  });

  test('one port cannot serve HTTP for one check and a banner for another', () => {
    const spec = specOf(part4);
    spec.checks = [
      { to: 'node1', proto: 'http', port: 2202 },
      { to: 'node2', proto: 'tcp', port: 2202 },
    ];
    const cluster = clusterFromObject(spec);
    const topology = labTopology(cluster);
    assert.throws(
      () => serversOf(probesOf(cluster, topology, cluster.checks ?? [])),
      /check "tcp\/2202 workstation -> node2" needs a tcp server on guest2 tcp\/22, where another check needs http/,
    );
  });
});

describe('lab plan: lab apply', () => {
  test('moves guests; refuses what would need new namespaces or links', () => {
    const old = prepare(part4).cluster;
    const spec = specOf(part4);
    (spec.guests as { guest1: { node: string } }).guest1.node = 'node2';
    assert.deepEqual(movesOf(old, clusterFromObject(spec)), [
      { guest: 'guest1', from: 'node1', to: 'node2' },
    ]);
    assert.deepEqual(unappliable(old, clusterFromObject(spec)), []);
    (spec.guests as { guest2: { address: string } }).guest2.address = '10.5.5.99';
    (spec.nodes as { node2: { address: string } }).node2.address = '192.168.122.99';
    assert.deepEqual(unappliable(old, clusterFromObject(spec)), [
      'the nodes (names, addresses, tags or uplinks)',
      'the guests other than their node (added, removed, readdressed)',
    ]);
  });

  test('a floating IP added or moved is refused; insert toggled is applied', () => {
    const file = join(EXAMPLES_DIR, 'seed004-insert.yaml');
    const old = prepare(file).cluster;
    const spec = specOf(file);
    delete spec.checks; // they expect fw1 in the path
    const networks = spec.networks as { tenant: { insert?: string } };
    delete networks.tenant.insert;
    assert.deepEqual(unappliable(old, clusterFromObject(spec)), []);
    (spec.guests as { vm2: { floating?: string } }).vm2.floating = '192.168.122.62';
    assert.deepEqual(unappliable(old, clusterFromObject(spec)), ['the floating IPs']);
  });
});

describe('lab: kernel capabilities', () => {
  test('the lab says what the kernel lacks, and names the VM lab', () => {
    assert.equal(
      describeCapabilities(new Set(['vlan'])),
      'this kernel offers 802.1Q VLAN subinterfaces but has no VRF devices, bonding; "lab test --vm" runs the lab on a Debian kernel that has them',
    );
    assert.equal(
      describeCapabilities(new Set(['vlan', 'vrf', 'bond'])),
      'this kernel offers 802.1Q VLAN subinterfaces, VRF devices, bonding',
    );
  });

  test('probing creates each device type in the given namespace and removes it, in one batch', () => {
    const calls: { argv: string; input: string }[] = [];
    // As ip -force -batch answers on a kernel without VRF: the add fails, so does the del.
    const runner = (argv: readonly string[], options?: { input?: string }) => {
      calls.push({ argv: argv.join(' '), input: options?.input ?? '' });
      const lines = (options?.input ?? '').trim().split('\n');
      const failed = lines.flatMap((l, i) => (l.includes('vrf') ? [`Command failed -:${i + 1}`] : []));
      return { code: failed.length ? 1 : 0, stdout: '', stderr: failed.join('\n') };
    };
    assert.deepEqual([...probeCapabilities(runner, 'cvg-1-ab-upstream', 'wan0')].sort(), ['bond', 'vlan']);
    assert.deepEqual(
      calls.map((c) => c.argv),
      ['ip -n cvg-1-ab-upstream -force -batch -'],
    );
    const input = calls[0]?.input.split('\n') ?? [];
    assert.ok(input.includes('link add link wan0 name probe-vlan type vlan id 4094'), input.join('\n'));
    assert.ok(input.includes('link del probe-vlan'));
  });
});
