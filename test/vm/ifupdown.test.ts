// interfaces.d/convergent brings a bare node up on its own with the real ifup, to what network.sh
// makes: in the VM (Debian's kernel has bonds and 802.1Q), the seed's node1 in two fresh network
// namespaces with dummy NICs eno1/eno2, `ifup -a -i` in one and network.sh (twice) in the other;
// their `ip -j link/addr/route` agree: names, kinds, masters, MTUs, bond and VLAN options, addresses.
// The same with the bond in 802.3ad; and network.sh refuses a bond0 in another mode, changing nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
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
/** Each plan: active-backup as the seed has it, and the same bond in 802.3ad. */
const VARIANTS = ['ab', 'lacp'] as const;

/** A namespace with the dummy NICs eno1 and eno2, as a bare node has them. */
const bare = (ns: string) =>
  `ip netns add ${ns}\nfor nic in eno1 eno2; do ip -n ${ns} link add $nic type dummy; done`;
const dump = (ns: string, to: string) =>
  `ip -n ${ns} -d -j link >${to}.link; ip -n ${ns} -j addr >${to}.addr; ip -n ${ns} -j route >${to}.route`;

/**
 * In the VM, as root, for each variant: `ifup -a -i` in one namespace (its ifupdown state on a
 * tmpfs of its own: ip netns exec gives each command a private mount namespace and the
 * namespace's /sys), network.sh twice in another; then network.sh (active-backup) where bond0
 * exists in mode 802.3ad already.
 */
const SCRIPT = [
  'set -u',
  'cd /run/vm',
  'mkdir -p /run/network',
  ...VARIANTS.flatMap((v) => [
    bare(`cvg-${v}-ifup`),
    bare(`cvg-${v}-sh`),
    `ip netns exec cvg-${v}-ifup sh -c 'mount -t tmpfs tmpfs /run/network && ifup -a -i /run/vm/${v}.interfaces' >${v}.ifup.log 2>&1; echo $? >${v}.ifup.code`,
    `ip netns exec cvg-${v}-sh sh /run/vm/${v}.network.sh >${v}.sh.log 2>&1; echo $? >${v}.sh.code`,
    dump(`cvg-${v}-sh`, `${v}.first`),
    `ip netns exec cvg-${v}-sh sh /run/vm/${v}.network.sh >>${v}.sh.log 2>&1; echo $? >>${v}.sh.code`,
    'sleep 1',
    ...['ifup', 'sh'].flatMap((way) => [
      dump(`cvg-${v}-${way}`, `${v}.${way}`),
      `ip netns exec cvg-${v}-${way} cat /proc/net/bonding/bond0 >${v}.${way}.bonding`,
      `ip netns del cvg-${v}-${way}`,
    ]),
  ]),
  bare('cvg-refuse'),
  'ip -n cvg-refuse link add bond0 type bond mode 802.3ad',
  'ip netns exec cvg-refuse sh /run/vm/ab.network.sh >refuse.log 2>&1; echo $? >refuse.code',
  'ip -n cvg-refuse -j link >refuse.link',
  'ip netns del cvg-refuse',
  '',
].join('\n');

/** Every file the script writes. */
const COLLECT = [
  ...VARIANTS.flatMap((v) => [
    ...['ifup.code', 'ifup.log', 'sh.code', 'sh.log'].map((f) => `${v}.${f}`),
    ...['first', 'ifup', 'sh'].flatMap((way) => STATE.map((s) => `${v}.${way}.${s}`)),
    ...['ifup', 'sh'].map((way) => `${v}.${way}.bonding`),
  ]),
  'refuse.code',
  'refuse.log',
  'refuse.link',
];

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

/** The seed's node1 as it is, and with its bond in 802.3ad (layer3+4 hashing, no primary). */
function variants(): Record<(typeof VARIANTS)[number], HostPlan> {
  const ab = seedNode1();
  const lacp: HostPlan = {
    ...ab,
    links: ab.links.map((l) =>
      l.kind === 'bond' ? { ...l, mode: '802.3ad', primary: undefined, xmitHashPolicy: 'layer3+4' } : l,
    ),
  };
  return { ab, lacp };
}

let run: Promise<{ code: number; files: ReadonlyMap<string, string>; lines: string[] }> | undefined;

/** One VM boot for every test here: the script above, its files collected. */
function inVm(): Promise<{ code: number; files: ReadonlyMap<string, string>; lines: string[] }> {
  run ??= (async () => {
    const [kernel] = pickKernels([]);
    assert.ok(kernel);
    const files: Record<string, string> = {};
    for (const [v, plan] of Object.entries(variants()))
      for (const f of renderNode(plan)) {
        if (f.path === FILES.interfaces) files[`${v}.interfaces`] = textOf(f);
        if (f.path === FILES.networkScript) files[`${v}.network.sh`] = textOf(f);
      }
    const lines: string[] = [];
    const result = await runInVm({
      kernel,
      progress: (l) => lines.push(l),
      files,
      collect: COLLECT,
      script: SCRIPT,
    });
    return { code: result.code, files: result.files, lines };
  })();
  return run;
}

const canRun = (t: TestContext) => needsVm(t) && needsRoot(t, 'ifup', 'brctl', 'ifenslave');

/** The two ways agree, and network.sh's second run changed nothing; returns network.sh's links. */
async function sameBothWays(v: (typeof VARIANTS)[number]): Promise<{
  by: Map<string, Record<string, unknown>>;
  file: (name: string) => string;
}> {
  const { code, files, lines } = await inVm();
  const file = (name: string) => files.get(`${v}.${name}`) ?? '';
  const context = `${lines.join('\n')}\nifup:\n${file('ifup.log')}\nnetwork.sh:\n${file('sh.log')}`;
  assert.equal(code, 0, context);
  assert.equal(file('ifup.code').trim(), '0', context);
  assert.deepEqual(file('sh.code').trim().split('\n'), ['0', '0'], context);
  const sh = links(file('sh.link'));
  assert.deepEqual(links(file('ifup.link')), sh, context);
  assert.deepEqual(addresses(file('ifup.addr')), addresses(file('sh.addr')));
  assert.deepEqual(routes(file('ifup.route')), routes(file('sh.route')));
  // The second network.sh changed nothing.
  assert.deepEqual(links(file('first.link')), sh, 'a second network.sh changes no link');
  assert.deepEqual(addresses(file('first.addr')), addresses(file('sh.addr')));
  assert.deepEqual(routes(file('first.route')), routes(file('sh.route')));
  assert.deepEqual(addresses(file('sh.addr')), [{ ifname: 'br0', addresses: ['83.212.4.210/27'] }]);
  return {
    by: new Map(sh.map((l) => [(l as { ifname: string }).ifname, l as Record<string, unknown>])),
    file,
  };
}

describe('ifupdown: interfaces.d/convergent brings a bare node up as network.sh does', () => {
  test('ganeti-seed node1: bond0 of eno1/eno2, VLANs 104/992/990, four bridges, the same both ways', async (t) => {
    if (!canRun(t)) return;
    const { by, file } = await sameBothWays('ab');
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
    for (const way of ['ifup', 'sh']) {
      const bonding = file(`${way}.bonding`);
      assert.match(bonding, /^Bonding Mode: fault-tolerance \(active-backup\)$/m, way);
      assert.match(bonding, /^Primary Slave: eno1 /m, way);
      assert.match(bonding, /^Currently Active Slave: eno1$/m, way);
      assert.match(bonding, /^MII Polling Interval \(ms\): 100$/m, way);
    }
  });

  test('the same bond in 802.3ad: layer3+4 hashing both ways, and a second network.sh keeps it', async (t) => {
    if (!canRun(t)) return;
    const { by, file } = await sameBothWays('lacp');
    assert.equal(by.get('bond0')?.mode, '802.3ad');
    assert.equal(by.get('bond0')?.hash, 'layer3+4');
    for (const way of ['ifup', 'sh'])
      assert.match(file(`${way}.bonding`), /^Transmit Hash Policy: layer3\+4 \(1\)$/m, way);
  });

  test('network.sh where bond0 is in another mode: refused, naming both modes, before anything changes', async (t) => {
    if (!canRun(t)) return;
    const { files } = await inVm();
    assert.equal(files.get('refuse.code')?.trim(), '1');
    assert.match(
      files.get('refuse.log') ?? '',
      /^network\.sh: bond0 is in mode 802\.3ad, the spec says active-backup: a bond changes mode only without slaves \(ip link del bond0, then run this again\)$/m,
    );
    const after = JSON.parse(files.get('refuse.link') ?? '[]') as Link[];
    assert.deepEqual(
      after.map((l) => [l.ifname, l.mtu, l.master]),
      [
        ['lo', 65536, undefined],
        ['eno1', 1500, undefined],
        ['eno2', 1500, undefined],
        ['bond0', 1500, undefined],
      ],
    );
  });
});
