// The node's own links in its plan (seed 003): NICs' MTU, the bond, the VLANs the bridged and
// private networks ride on and their bridges, compiled from the model; and how network.sh and
// interfaces.d/convergent write them. Rootless: test/lab/network-script.test.ts and
// test/vm/ifupdown.test.ts run the files.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const plans = (example: string): HostPlan[] =>
  compileCluster(readCluster(join(EXAMPLES_DIR, `${example}.yaml`)));

const seed = () => plans('ganeti-seed')[0] as HostPlan;
const fileOf = (plan: HostPlan, path: string) => {
  const file = renderNode(plan).find((f) => f.path === path);
  assert.ok(file, path);
  return textOf(file);
};

describe('host plan: the node links of ganeti-seed node1', () => {
  test('NICs with their MTU, the bond over them, then one VLAN per bridged VLAN (990 once)', () => {
    const links = seed().links;
    assert.deepEqual(
      links.map((l) => [l.kind, l.name, l.mtu]),
      [
        ['nic', 'eno1', 9000],
        ['nic', 'eno2', 9000],
        ['bond', 'bond0', 9000],
        ['vlan', 'bond0.104', 9000],
        ['vlan', 'bond0.992', 1500],
        ['vlan', 'bond0.990', 9000],
      ],
    );
    assert.deepEqual(links[2], {
      kind: 'bond',
      name: 'bond0',
      mtu: 9000,
      mode: 'active-backup',
      miimon: 100,
      primary: 'eno1',
      slaves: ['eno1', 'eno2'],
      source: 'interfaces.bond0',
    });
    assert.deepEqual(links[3], {
      kind: 'vlan',
      name: 'bond0.104',
      parent: 'bond0',
      id: 104,
      mtu: 9000,
      source: 'networks.vlan104 (VLAN 104 on bond0)',
    });
  });

  test('a bridge per bridged VLAN and one prv0 for both private networks; MTU the network’s, else the trunk’s', () => {
    const bridges = seed().bridges;
    assert.deepEqual(
      bridges.map((b) => [b.name, b.ports, b.mtu]),
      [
        ['br0', ['bond0'], undefined],
        ['vlan104', ['bond0.104'], 9000],
        ['vlan992', ['bond0.992'], 1500],
        ['prv0', ['bond0.990'], 9000],
      ],
    );
    assert.equal(bridges[3]?.source, 'networks.private-a, networks.private-b (private, one bridge shared)');
  });

  test('no node address and no route on the bridged and private networks', () => {
    const plan = seed();
    assert.deepEqual(
      plan.addresses.map((a) => [a.dev, a.cidr]),
      [['br0', '83.212.4.210/27']],
    );
    assert.deepEqual(
      plan.routes.map((r) => r.dev),
      ['br0'],
    );
  });

  test('a VLAN the spec declares is not made twice; an untagged trunk is the port itself', () => {
    const proxmox = plans('proxmox-vlan')[0] as HostPlan;
    assert.deepEqual(
      proxmox.links.map((l) => l.name),
      ['eth1', 'eth1.200'],
    );
    assert.deepEqual(proxmox.bridges.at(-1)?.ports, ['eth1.200']);
    assert.equal(proxmox.bridges.at(-1)?.mtu, undefined, 'neither the network nor eth1 says an MTU');
  });

  test('gateway examples: no links of their own, bridges as before', () => {
    const part4 = plans('part4-stateless')[0] as HostPlan;
    assert.deepEqual(part4.links, []);
    assert.deepEqual(
      part4.bridges.map((b) => [b.name, b.ports, b.mtu]),
      [
        ['xenbr0', ['eth0'], undefined],
        ['guestbr0', ['eth1.100'], undefined],
      ],
    );
  });
});

describe('network.sh', () => {
  const text = () => fileOf(seed(), FILES.networkScript);

  test('a POSIX sh script that stops at the first error', () => {
    assert.match(text(), /^#!\/bin\/sh\n(# .*\n)+set -eu\n/);
  });

  test('each link made only when missing, each commented back to the spec', () => {
    const t = text();
    assert.match(t, /\n# interfaces\.bond0\nhas bond0 \|\| ip link add bond0 type bond mode active-backup\n/);
    assert.match(
      t,
      /\n# networks\.vlan104 \(VLAN 104 on bond0\)\nhas bond0\.104 \|\| ip link add link bond0 name bond0\.104 type vlan id 104\nip link set dev bond0\.104 mtu 9000 up\n/,
    );
    assert.match(t, /\nhas prv0 \|\| ip link add prv0 type bridge\n/);
    assert.doesNotMatch(t, /^(ip )?link add (?!.*\|\|)/m, 'no bare link add');
  });

  test('the bond: mode checked, options set, slaves joined only when not in, primary after them, MTU last', () => {
    const t = text();
    const order = [
      'has bond0 || ip link add bond0 type bond mode active-backup',
      'ip link set dev bond0 type bond miimon 100',
      'enslave eno1 bond0',
      'enslave eno2 bond0',
      'ip link set dev bond0 type bond primary eno1',
      'ip link set dev bond0 mtu 9000 up',
    ].map((line) => t.indexOf(`\n${line}\n`));
    assert.ok(order.every((i) => i > 0));
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    assert.match(t, /grep -q " master \$2 "/, 'enslave looks before it downs a NIC');
    assert.ok(
      t.indexOf('\n! has bond0 || bond_mode bond0 active-backup\n') <
        t.indexOf('\nip link set dev eno1 mtu 9000\n'),
      'a bond in another mode is refused before anything changes',
    );
    assert.match(t, /\nip link set dev eno1 mtu 9000\n/, 'a slave is not brought up by hand');
  });

  test('MTUs parents first: NICs, bond, VLANs, then the bridges after their ports', () => {
    const t = text();
    const at = (line: string) => t.indexOf(line);
    assert.ok(at('dev eno1 mtu 9000') < at('dev bond0 mtu 9000'));
    assert.ok(at('dev bond0 mtu 9000') < at('dev bond0.992 mtu 1500'));
    assert.ok(at('dev bond0.992 master vlan992 up') < at('dev vlan992 mtu 1500'));
  });

  test('the bond helpers only where there is a bond', () => {
    assert.match(text(), /\nenslave\(\) \{\n/);
    const part4 = fileOf(plans('part4-stateless')[0] as HostPlan, FILES.networkScript);
    assert.doesNotMatch(part4, /enslave|bond_mode/);
    assert.match(part4, /\nhas\(\) \{ ip link show dev "\$1" >\/dev\/null 2>&1; \}\n/);
  });

  test('addresses and routes are replaced, never added', () => {
    const t = text();
    assert.match(t, /\n# nodes\.node1\.address\nip address replace 83\.212\.4\.210\/27 dev br0\n/);
    assert.match(t, /\n# uplink\.gateway\nip route replace default via 83\.212\.4\.193 dev br0 proto 241\n/);
    assert.doesNotMatch(t, / (address|route) add /);
  });

  test('802.3ad: the hash policy is converged with miimon', () => {
    const plan = seed();
    const lacp: HostPlan = {
      ...plan,
      links: plan.links.map((l) =>
        l.kind === 'bond' ? { ...l, mode: '802.3ad', primary: undefined, xmitHashPolicy: 'layer3+4' } : l,
      ),
    };
    const t = fileOf(lacp, FILES.networkScript);
    assert.match(t, /\nhas bond0 \|\| ip link add bond0 type bond mode 802\.3ad\n/);
    assert.match(t, /\nip link set dev bond0 type bond miimon 100 xmit_hash_policy layer3\+4\n/);
    assert.doesNotMatch(t, /primary/);
  });
});

describe('interfaces.d/convergent', () => {
  const text = () => fileOf(seed(), FILES.interfaces);

  test('the bond as ifenslave reads it', () => {
    assert.match(
      text(),
      /\n# interfaces\.bond0\nauto bond0\niface bond0 inet manual\n {4}bond-slaves eno1 eno2\n {4}bond-mode active-backup\n {4}bond-miimon 100\n {4}bond-primary eno1\n {4}mtu 9000\n/,
    );
  });

  test('NICs and VLANs: manual, with their MTU and raw device', () => {
    const t = text();
    assert.match(t, /\nauto eno1\niface eno1 inet manual\n {4}mtu 9000\n/);
    assert.match(
      t,
      /\nauto bond0\.992\niface bond0\.992 inet manual\n {4}vlan-raw-device bond0\n {4}mtu 1500\n/,
    );
  });

  test('bridges: ports, STP off, MTU; the uplink bridge with its address and gateway', () => {
    const t = text();
    assert.match(
      t,
      /\n# networks\.private-a, networks\.private-b \(private, one bridge shared\)\nauto prv0\niface prv0 inet manual\n {4}bridge-ports bond0\.990\n {4}bridge-stp off\n {4}mtu 9000\n/,
    );
    assert.match(
      t,
      /\nauto br0\niface br0 inet static\n# nodes\.node1\.address\n {4}address 83\.212\.4\.210\/27\n# uplink\.gateway\n {4}up ip route replace default via 83\.212\.4\.193 dev br0 proto 241\n {4}bridge-ports bond0\n {4}bridge-stp off\n/,
    );
  });

  test('stanzas in bring-up order: parents before the links on them', () => {
    const t = text();
    const names = [...t.matchAll(/^auto (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(names, [
      'eno1',
      'eno2',
      'bond0',
      'bond0.104',
      'bond0.992',
      'bond0.990',
      'br0',
      'vlan104',
      'vlan992',
      'prv0',
    ]);
  });

  test('a gateway network: the own address first, the anycast gateway in a stanza of its own, kernel options by ip', () => {
    const t = fileOf(plans('part4-stateless')[0] as HostPlan, FILES.interfaces);
    assert.match(
      t,
      /\niface guestbr0 inet static\n# networks\.guestnet\.nodes\.node1\n {4}address 10\.5\.5\.251\/24\n {4}bridge-ports eth1\.100\n {4}bridge-stp off\n {4}hwaddress 0a:01:00:00:00:01\n {4}up ip link set dev guestbr0 type bridge nf_call_iptables 1 mcast_snooping 1\n {4}up ip link set dev guestbr0 alias 'convergent: networks\.guestnet'\n\n# networks\.guestnet\.gateway \(anycast\)\niface guestbr0 inet static\n {4}address 10\.5\.5\.254\/24\n/,
    );
    assert.doesNotMatch(t, /^[ \t]+#/m, 'ifupdown comments stand at the start of their line');
  });
});
