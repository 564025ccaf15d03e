// interfaces.d/convergent brings a bare node up on its own with the real ifup, to what network.sh
// makes: in the VM (Debian's kernel has bonds and 802.1Q), the seed's node1 in two fresh network
// namespaces with dummy NICs eno1/eno2, `ifup -a -i` in one and network.sh (twice) in the other;
// their `ip -j link/addr/route` agree: names, kinds, masters, MTUs, bond and VLAN options, addresses.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { pickKernels } from '../../src/vm/kernel.ts';
import { runInVm } from '../../src/vm/qemu.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot, needsVm } from '../support/root.ts';

/** node1 of the seed example. */
const seedNode1 = (): HostPlan =>
  compileCluster(readCluster(join(EXAMPLES_DIR, 'ganeti-seed.yaml'))).find(
    (p) => p.node === 'node1',
  ) as HostPlan;

const STATE = ['link', 'addr', 'route'] as const;

// In the VM, as root: each way in a namespace of its own, its ifupdown state on a tmpfs of its own
// (ip netns exec gives each command a private mount namespace and the namespace's /sys).
const SCRIPT = `set -u
cd /run/vm
mkdir -p /run/network
for ns in cvg-ifup cvg-sh; do
  ip netns add $ns
  for nic in eno1 eno2; do ip -n $ns link add $nic type dummy; done
done
ip netns exec cvg-ifup sh -c 'mount -t tmpfs tmpfs /run/network && ifup -a -i /run/vm/interfaces' >ifup.log 2>&1
echo $? >ifup.code
ip netns exec cvg-sh sh /run/vm/network.sh >sh.log 2>&1; echo $? >sh.code
ip -n cvg-sh -d -j link >sh-first.link
ip netns exec cvg-sh sh /run/vm/network.sh >>sh.log 2>&1; echo $? >>sh.code
sleep 1
for ns in cvg-ifup cvg-sh; do
  ip -n $ns -d -j link >$ns.link; ip -n $ns -j addr >$ns.addr; ip -n $ns -j route >$ns.route
  ip netns exec $ns cat /proc/net/bonding/bond0 >$ns.bonding
done
for ns in cvg-ifup cvg-sh; do ip netns del $ns; done
`;

interface Link {
  ifname: string;
  mtu: number;
  master?: string;
  link?: string;
  flags: string[];
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
  };
}

/** What both ways must agree on for each link; MACs and ifindexes are the kernel's to choose. */
function links(json: string): unknown[] {
  return (JSON.parse(json) as Link[])
    .filter((l) => l.ifname !== 'lo')
    .map((l) => {
      const data = l.linkinfo?.info_data ?? {};
      const kind = l.linkinfo?.info_kind;
      return {
        ifname: l.ifname,
        kind,
        master: l.master,
        link: l.link,
        mtu: l.mtu,
        up: l.flags.includes('UP'),
        ...(kind === 'bond'
          ? { mode: data.mode, miimon: data.miimon, primary: data.primary, hash: data.xmit_hash_policy }
          : {}),
        ...(kind === 'vlan' ? { id: data.id, protocol: data.protocol } : {}),
        ...(kind === 'bridge'
          ? { stp: data.stp_state, nf: data.nf_call_iptables, snooping: data.mcast_snooping }
          : {}),
      };
    })
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
}

/** IPv4 and global IPv6 addresses by device (link-local ones come from the kernel's MACs). */
function addresses(json: string): unknown[] {
  return (
    JSON.parse(json) as { ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[]
  )
    .map((d) => ({
      ifname: d.ifname,
      addresses: d.addr_info
        .filter((a) => a.scope !== 'link' && a.scope !== 'host')
        .map((a) => `${a.local}/${a.prefixlen}`),
    }))
    .filter((d) => d.addresses.length > 0)
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
}

/** Routes without their flags: ifupdown adds its gateway `onlink`, network.sh does not need to. */
function routes(json: string): unknown[] {
  return (JSON.parse(json) as Record<string, unknown>[]).map(({ flags: _, ...r }) => r);
}

describe('ifupdown: interfaces.d/convergent brings a bare node up as network.sh does', () => {
  test('ganeti-seed node1: bond0 of eno1/eno2, VLANs 104/992/990, four bridges, the same in both', async (t) => {
    if (!needsVm(t) || !needsRoot(t, 'ifup', 'brctl', 'ifenslave')) return;
    const [kernel] = pickKernels([]);
    assert.ok(kernel);
    const plan = seedNode1();
    const text = (path: string) => textOf(renderNode(plan).find((f) => f.path === path) as never);
    const lines: string[] = [];
    const collect = ['ifup.code', 'ifup.log', 'sh.code', 'sh.log', 'sh-first.link'].concat(
      ...['cvg-ifup', 'cvg-sh'].map((ns) => [...STATE, 'bonding'].map((s) => `${ns}.${s}`)),
    );
    const result = await runInVm({
      kernel,
      progress: (l) => lines.push(l),
      files: { interfaces: text(FILES.interfaces), 'network.sh': text(FILES.networkScript) },
      collect,
      script: SCRIPT,
    });
    const file = (name: string) => result.files.get(name) ?? '';
    const context = `${lines.join('\n')}\nifup:\n${file('ifup.log')}\nnetwork.sh:\n${file('sh.log')}`;
    assert.equal(result.code, 0, context);
    assert.equal(file('ifup.code').trim(), '0', context);
    assert.deepEqual(file('sh.code').trim().split('\n'), ['0', '0'], context);

    const ifup = links(file('cvg-ifup.link'));
    const sh = links(file('cvg-sh.link'));
    assert.deepEqual(ifup, sh, context);
    assert.deepEqual(links(file('sh-first.link')), sh, 'a second network.sh changes no link');
    assert.deepEqual(addresses(file('cvg-ifup.addr')), addresses(file('cvg-sh.addr')));
    assert.deepEqual(routes(file('cvg-ifup.route')), routes(file('cvg-sh.route')));

    // What both made, as the spec says it.
    const by = new Map(sh.map((l) => [(l as { ifname: string }).ifname, l as Record<string, unknown>]));
    assert.deepEqual(
      [
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
      ].map((n) => [n, by.get(n)?.master, by.get(n)?.mtu, by.get(n)?.up]),
      [
        ['eno1', 'bond0', 9000, true],
        ['eno2', 'bond0', 9000, true],
        ['bond0', 'br0', 9000, true],
        ['bond0.104', 'vlan104', 9000, true],
        ['bond0.992', 'vlan992', 1500, true],
        ['bond0.990', 'prv0', 9000, true],
        ['br0', undefined, 9000, true],
        ['vlan104', undefined, 9000, true],
        ['vlan992', undefined, 1500, true],
        ['prv0', undefined, 9000, true],
      ],
    );
    assert.equal(by.get('bond0')?.mode, 'active-backup');
    assert.equal(by.get('bond0.992')?.id, 992);
    assert.deepEqual(addresses(file('cvg-sh.addr')), [{ ifname: 'br0', addresses: ['83.212.4.210/27'] }]);
    for (const ns of ['cvg-ifup', 'cvg-sh']) {
      const bonding = file(`${ns}.bonding`);
      assert.match(bonding, /^Bonding Mode: fault-tolerance \(active-backup\)$/m, ns);
      assert.match(bonding, /^Primary Slave: eno1 /m, ns);
      assert.match(bonding, /^Currently Active Slave: eno1$/m, ns);
      assert.match(bonding, /^MII Polling Interval \(ms\): 100$/m, ns);
    }
  });
});
