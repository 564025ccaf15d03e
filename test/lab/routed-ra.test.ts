// Router advertisements (F19) in the namespace lab, with the real ra.py on each node: routed-flat's
// guests hold the EUI-64 address from the /64 and `default via fe80::ce47:52ff:fe4e:4554 proto ra`,
// which the kernel accepts only with hop limit 255; a guest with an explicit address6 keeps it (no
// second, SLAAC address) and takes its default route from the RA; a guest that solicits is answered
// at once; a router solicitation from the uplink or from the tap of a network without subnet6 gets
// no answer. The fault no-ra (ra.py not started) fails exactly the guests' IPv6 checks.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { PYTHON } from '../../src/lab/agent.ts';
import { realRunner } from '../../src/lab/run.ts';
import { labTest, labUp, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { failedNames, failures } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';
import { ROUTED_FLAT } from '../support/routed-lab.ts';

const ROUTER = 'fe80::ce47:52ff:fe4e:4554';
const VM1 = '2001:db8::5054:ff:fe00:101';
/** vm2's explicit address6 in the variant below (its EUI-64 would be ::5054:ff:fe00:201). */
const VM2 = '2001:db8::11';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-ra-lab-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** routed-flat with vm2's public NIC at an explicit address6. */
function explicitSpec(): string {
  const spec = parse(readFileSync(ROUTED_FLAT, 'utf8')) as {
    guests: Record<string, { nics: Record<string, unknown>[] }>;
  };
  const nic = spec.guests.vm2?.nics[0] as Record<string, unknown>;
  nic.address6 = VM2;
  const file = join(tmp, 'routed-flat-address6.yaml');
  writeFileSync(file, stringify(spec));
  return file;
}

/**
 * Sends a router solicitation out of IFNAME to ff02::2 and prints, as JSON, the RAs heard within 2 s:
 * their source, the hop limit they arrived with and the prefixes they carry.
 */
const SOLICIT = `
import json, socket, struct, sys, time
index = socket.if_nametoindex(sys.argv[1])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ("ff02::2", 0, 0, index))
heard, deadline = [], time.monotonic() + 2
while deadline > time.monotonic():
    s.settimeout(deadline - time.monotonic())
    try:
        data, anc, _, source = s.recvmsg(1500, 64)
    except socket.timeout:
        break
    if data[0] != 134:
        continue
    hops = [struct.unpack("=i", v[:4])[0] for level, kind, v in anc if kind == socket.IPV6_HOPLIMIT]
    prefixes, at = [], 16
    while at + 8 <= len(data) and data[at + 1] > 0:
        if data[at] == 3:
            prefixes.append(socket.inet_ntop(socket.AF_INET6, data[at + 16:at + 32]) + "/%d" % data[at + 2])
        at += data[at + 1] * 8
    heard.append({"from": source[0].split("%")[0], "hops": hops[0] if hops else None, "prefixes": prefixes})
print(json.dumps(heard))
`;

interface Heard {
  from: string;
  hops: number | null;
  prefixes: string[];
}

describe('router advertisements in the namespace lab', () => {
  test('SLAAC and an explicit address6 from the RAs; RS answered on routed taps with subnet6 only', async (t) => {
    if (!needsRoot(t)) return;
    const p = prepare(explicitSpec());
    const lines: string[] = [];
    const { lab, run } = await labUp(p, { progress: (l) => lines.push(l) });
    try {
      const sh = (host: string, ...argv: string[]) => {
        const r = realRunner(['ip', 'netns', 'exec', lab.ns(host), ...argv]);
        assert.equal(r.code, 0, `${host}: ${argv.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      const addresses = (guest: string) =>
        (
          JSON.parse(sh(guest, 'ip', '-6', '-j', 'address', 'show', 'dev', 'eth0', 'scope', 'global')) as {
            addr_info: { local: string; prefixlen: number; dynamic?: boolean }[];
          }[]
        )
          .flatMap((l) => l.addr_info)
          // ip -j leaves an empty entry for each address the filter skips.
          .filter((a) => a.local !== undefined)
          .map((a) => `${a.local}/${a.prefixlen}${a.dynamic ? ' dynamic' : ''}`);
      assert.ok(
        lines.some((l) =>
          /router advertisements: ra\.py on node1, node2; 1 guest NIC configured by SLAAC/.test(l),
        ),
        lines.join('\n'),
      );

      // vm1 by SLAAC; vm2 its own address only (autoconf off), both the RA's default route, no on-link /64.
      assert.deepEqual(addresses('vm1'), [`${VM1}/64 dynamic`]);
      assert.deepEqual(addresses('vm2'), [`${VM2}/64`]);
      for (const guest of ['vm1', 'vm2']) {
        const routes = sh(guest, 'ip', '-6', 'route', 'show');
        assert.match(routes, new RegExp(`^default via ${ROUTER} dev eth0 proto ra `, 'm'), guest);
        assert.doesNotMatch(routes, /^2001:db8::\/64/m, `${guest}: the prefix is not on-link`);
      }
      assert.match(sh('vm1', 'ping', '-6', '-c', '1', '-W', '2', '2001:db8:ffff::10'), /1 received/);
      const report = await runChecks(lab, p, () => {});
      assert.equal(report.failed, 0, failures(report));

      // A guest that solicits is answered at once, by its own node's tap, with hop limit 255.
      const solicit = (host: string, ifname: string) =>
        JSON.parse(sh(host, PYTHON, '-I', '-S', '-c', SOLICIT, ifname)) as Heard[];
      assert.deepEqual(solicit('vm1', 'eth0'), [{ from: ROUTER, hops: 255, prefixes: ['2001:db8::/64'] }]);
      const log = readFileSync(join(lab.dir, 'logs', 'node1-ra.log'), 'utf8');
      assert.match(log, /^ra: RA on vif-vm1 \(public\) to fe80::5054:ff:fe00:101$/m);
      // The uplink (from the upstream router's port on it) and internal's tap (no subnet6): nothing.
      const upstreamPort = (
        JSON.parse(sh('upstream', 'ip', '-6', '-j', 'address', 'show', 'to', '2001:db8::1/128')) as {
          ifname: string;
        }[]
      )[0]?.ifname;
      assert.ok(upstreamPort);
      assert.deepEqual(solicit('upstream', upstreamPort), []);
      assert.deepEqual(solicit('vm2', 'eth1'), []);

      // A guest that lost its address and route gets both back from the RA its RS brings.
      sh('vm1', 'ip', 'link', 'set', 'eth0', 'down');
      sh('vm1', 'ip', '-6', 'address', 'flush', 'dev', 'eth0', 'scope', 'global');
      sh('vm1', 'ip', 'link', 'set', 'eth0', 'up');
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !addresses('vm1').includes(`${VM1}/64 dynamic`))
        await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(addresses('vm1'), [`${VM1}/64 dynamic`]);
      assert.match(sh('vm1', 'ip', '-6', 'route', 'show', 'default'), new RegExp(`via ${ROUTER} .*proto ra`));
    } finally {
      run.cleanup();
    }
  });

  test('fault no-ra: the guests have no IPv6 address or route, and exactly their IPv6 checks fail', async (t) => {
    if (!needsRoot(t)) return;
    const report = await labTest(prepare(ROUTED_FLAT, ['no-ra']), { progress: () => {} });
    assert.deepEqual(
      failedNames(report),
      [
        'public: ping vm1 -> gateway over IPv6',
        'public: TCP vm1 -> gateway over IPv6',
        'public: ping vm1 -> workstation over IPv6',
        'public: TCP vm1 -> workstation over IPv6',
        'public: ping vm1 -> vm2 over IPv6',
        'public: TCP vm1 -> vm2 over IPv6',
        'public: ping workstation -> vm1 over IPv6, through its host alone',
        'public: TCP workstation -> vm2 over IPv6',
      ],
      failures(report),
    );
    assert.match(failures(report), /Network is unreachable|Cannot assign requested address/);
  });
});
