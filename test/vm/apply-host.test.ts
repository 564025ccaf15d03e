// apply's host part on a kernel with bonds and 802.1Q (the VM lab: Debian's kernel), where this
// machine's has none: the seed's node1 (bond0 of eno1/eno2 in active-backup, and in 802.3ad; VLANs
// 104/992/990 on it; four bridges) from dummy NICs to the state network.sh makes, a second read
// with no change; a bond in another mode with a slave refused before anything runs; one without
// slaves changed (down, mode, slaves, up). test/vm/apply-host-vm.ts runs in the VM.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { pickKernels } from '../../src/vm/kernel.ts';
import { runInVm } from '../../src/vm/qemu.ts';
import { needsRoot, needsVm } from '../support/root.ts';

const REPO = join(import.meta.dirname, '..', '..');

interface Dump {
  readonly link: string;
  readonly addr: string;
  readonly route: string;
}
interface Way {
  readonly first: string[];
  readonly applied: Dump;
  readonly reference: Dump;
  readonly again: string[];
  readonly againReference: string[];
}
interface Seen {
  readonly ab: Way;
  readonly lacp: Way;
  readonly refused: string;
  readonly modeChange: string[];
  readonly modeAfter: { linkinfo: { info_data: { mode: string } } }[];
  readonly modeAgain: string[];
}

let seen: Promise<{ code: number; seen?: Seen; lines: string[] }> | undefined;

/** One VM boot for every test here. */
function inVm(): Promise<{ code: number; seen?: Seen; lines: string[] }> {
  seen ??= (async () => {
    const [kernel] = pickKernels([]);
    assert.ok(kernel);
    const lines: string[] = [];
    const result = await runInVm({
      kernel,
      progress: (l) => lines.push(l),
      collect: ['apply-host.json'],
      script: `cd '${REPO}' && node --import tsx test/vm/apply-host-vm.ts /run/vm/apply-host.json`,
      timeoutMs: 400_000,
      memoryMb: 2048,
    });
    const json = result.files.get('apply-host.json');
    return { code: result.code, lines, ...(json ? { seen: JSON.parse(json) as Seen } : {}) };
  })();
  return seen;
}

/** Each link's name, kind, master, MTU, up, alias and the options apply sets (MACs are the kernel's). */
function links(json: string): unknown[] {
  const KEYS = [
    'mode',
    'miimon',
    'primary',
    'xmit_hash_policy',
    'id',
    'stp_state',
    'nf_call_iptables',
    'mcast_snooping',
  ];
  return (
    JSON.parse(json) as {
      ifname: string;
      mtu: number;
      master?: string;
      flags: string[];
      ifalias?: string;
      linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
    }[]
  ).map((l) => ({
    ifname: l.ifname,
    kind: l.linkinfo?.info_kind,
    master: l.master,
    mtu: l.mtu,
    up: l.flags.includes('UP'),
    alias: l.ifalias,
    ...Object.fromEntries(KEYS.map((k) => [k, l.linkinfo?.info_data?.[k]])),
  }));
}

const globalAddresses = (json: string) =>
  (JSON.parse(json) as { ifname: string; addr_info: { local: string; scope: string }[] }[]).flatMap((d) =>
    d.addr_info.filter((a) => a.scope === 'global').map((a) => `${d.ifname} ${a.local}`),
  );
/** Routes but the kernel's (those follow the addresses, and IPv6 link-local ones the sysctls apply sets). */
const routes = (json: string) =>
  (JSON.parse(json) as Record<string, unknown>[])
    .filter((r) => r.protocol !== 'kernel')
    .map(({ flags: _, ...r }) => JSON.stringify(r))
    .sort();

const canRun = (t: TestContext) => needsVm(t) && needsRoot(t);

async function way(name: 'ab' | 'lacp'): Promise<Way> {
  const { code, seen: s, lines } = await inVm();
  assert.equal(code, 0, lines.join('\n'));
  assert.ok(s);
  return s[name];
}

describe('apply, host part, in the VM: bonds and VLANs', () => {
  for (const name of ['ab', 'lacp'] as const)
    test(`ganeti-seed node1 (${name}): network.sh's state, then no change`, async (t) => {
      if (!canRun(t)) return;
      const w = await way(name);
      assert.ok(
        w.first.includes(
          `+ bond bond0: mode ${name === 'ab' ? 'active-backup' : '802.3ad'}, slaves eno1 eno2  (interfaces.bond0)`,
        ),
        w.first.join('\n'),
      );
      assert.deepEqual(links(w.applied.link), links(w.reference.link));
      assert.deepEqual(globalAddresses(w.applied.addr), globalAddresses(w.reference.addr));
      assert.deepEqual(routes(w.applied.route), routes(w.reference.route));
      assert.deepEqual(w.again, []);
      assert.deepEqual(w.againReference, [], "network.sh's state is apply's");
      const bond = links(w.applied.link).find((l) => (l as { ifname: string }).ifname === 'bond0');
      assert.equal((bond as { mode: string }).mode, name === 'ab' ? 'active-backup' : '802.3ad');
    });

  test('a bond in another mode: refused with a slave in it; without one, changed', async (t) => {
    if (!canRun(t)) return;
    const { code, seen: s, lines } = await inVm();
    assert.equal(code, 0, lines.join('\n'));
    assert.ok(s);
    assert.match(
      s.refused,
      /bond bond0 \(interfaces\.bond0\): in mode 802\.3ad, the spec says active-backup: a bond changes mode only without slaves \(eno1\)\n {2}fix: /,
    );
    assert.deepEqual(
      s.modeChange.map((l) => l.split(':')[0]),
      ['~ bond bond0'],
    );
    assert.match(s.modeChange[0] as string, /mode 802\.3ad -> active-backup, \+ slave eno1, \+ slave eno2/);
    assert.equal(s.modeAfter[0]?.linkinfo.info_data.mode, 'active-backup');
    assert.deepEqual(s.modeAgain, []);
  });
});
