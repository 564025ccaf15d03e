// Router advertisements for routed networks (F19), rootless: the ra.conf and unit each node gets, and
// ra.py's own functions on that rendered file (python3, as the lab's probes are tested): the RA's
// bytes parsed field by field, the taps it serves by nic up's record, the solicitations it answers,
// its refusal of a broken file. That the guests accept the RA (hop limit 255 at send, the kernel's
// own checks) is the lab's: test/lab/routed-ra.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { textOf } from '../../src/host/files.ts';
import { PYTHON } from '../../src/lab/agent.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { routedGuard } from '../../src/systems/cluster/features/routed/elements.ts';
import { raHelper } from '../../src/systems/cluster/features/routed/ra-lab.ts';
import { RA_FILES } from '../../src/systems/cluster/features/routed/ra-render.ts';
import type { RoutedNetwork } from '../../src/systems/cluster/model.ts';
import { recordOf } from '../../src/systems/cluster/nic/record.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { clusterFromText } from '../support/spec.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-ra-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const example = (name: string) => clusterFromText(readFileSync(`examples/${name}.yaml`, 'utf8'));
const flat = example('routed-flat');
const filesOf = (cluster = flat, node = 'node1') => {
  const plan = compileCluster(cluster).find((p) => p.node === node);
  assert.ok(plan);
  return new Map(renderNode(plan).map((f) => [f.path, textOf(f)]));
};
const conf = filesOf().get(RA_FILES.conf) as string;
const confFile = join(tmp, 'ra.conf');
writeFileSync(confFile, conf);

/** Runs `code` with ra.py imported as `ra`; its stdout as JSON. */
function python(code: string): unknown {
  const helper = raHelper();
  assert.ok(helper, 'ra.py is found from its module');
  const script = `import sys, json\nsys.path.insert(0, ${JSON.stringify(join(helper, '..'))})\nimport ra\n${code}`;
  const r = spawnSync(PYTHON, ['-I', '-S', '-B', '-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('router advertisements: the files', () => {
  test('a node of routed-flat: ra.conf serves public (table 500) alone; internal has no subnet6', () => {
    const lines = conf.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(lines, [
      'interval 600',
      'network 500 2001:db8::/64 name public router 1800 valid infinite preferred infinite',
    ]);
    assert.match(conf, /^# convergent: cluster routed-flat, node node1\./);
  });

  test('the unit runs ra.py on ra.conf with python3 -I -S, restarted, and says what to install', () => {
    const unit = filesOf().get(RA_FILES.unit) as string;
    assert.match(
      unit,
      /^ExecStart=\/usr\/bin\/python3 -I -S \/usr\/local\/lib\/convergent\/ra\.py \/etc\/convergent\/ra\.conf$/m,
    );
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.match(unit, /install -D -m 644 <convergent>\/src\/systems\/cluster\/features\/routed\/ra\.py/);
    assert.match(unit, /python3-minimal/);
  });

  test('every node of a network with subnet6 gets them (any may host its guests); none without', () => {
    const gnt = example('gnt-routed');
    for (const node of ['node1', 'node2', 'node3']) assert.ok(filesOf(gnt, node).has(RA_FILES.conf), node);
    const demo = filesOf(example('ganeti-routed'));
    assert.ok(!demo.has(RA_FILES.conf) && !demo.has(RA_FILES.unit), 'ganeti-routed has no subnet6');
    assert.ok(!filesOf(example('ganeti-flat')).has(RA_FILES.conf), 'no routed network');
  });

  test("package.json ships ra.py, as it ships nic up's kernel.py", () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('src/systems/cluster/features/routed/ra.py'));
  });
});

interface Option {
  type: number;
  bytes: Buffer;
}

/** RFC 4861 4.2: the RA's fixed part, then its options by type (length in units of 8 bytes). */
function parseRa(hex: string) {
  const b = Buffer.from(hex, 'hex');
  const options: Option[] = [];
  for (let at = 16; at < b.length; ) {
    const size = (b[at + 1] as number) * 8;
    assert.ok(size > 0 && at + size <= b.length, `option at ${at}`);
    options.push({ type: b[at] as number, bytes: b.subarray(at, at + size) });
    at += size;
  }
  return {
    type: b[0],
    code: b[1],
    hopLimit: b[4],
    flags: b[5],
    routerLifetime: b.readUInt16BE(6),
    reachable: b.readUInt32BE(8),
    retrans: b.readUInt32BE(12),
    options,
  };
}

describe('router advertisements: ra.py on the rendered ra.conf', () => {
  const ra = python(`
interval, networks = ra.read_config(${JSON.stringify(confFile)})
packet = ra.advertisement(networks[500], bytes.fromhex("cc47524e4554"), 1500)
print(json.dumps({"interval": interval, "tables": sorted(networks), "ra": packet.hex()}))
`) as { interval: number; tables: number[]; ra: string };

  test('reads the tables and the interval', () => {
    assert.deepEqual(ra.tables, [500]);
    assert.equal(ra.interval, 600);
  });

  test('the RA: type 134, hop limit 64, M=O=0, router lifetime 1800 s, reachable and retrans unset', () => {
    const p = parseRa(ra.ra);
    assert.deepEqual(
      [p.type, p.code, p.hopLimit, p.flags, p.routerLifetime, p.reachable, p.retrans],
      [134, 0, 64, 0, 1800, 0, 0],
    );
    assert.deepEqual(
      p.options.map((o) => o.type),
      [1, 5, 3],
    );
  });

  test("options: the tap's MAC (source link-layer), its MTU, the /64 with A=1 L=0 and infinite lifetimes", () => {
    const [slla, mtu, prefix] = parseRa(ra.ra).options.map((o) => o.bytes) as [Buffer, Buffer, Buffer];
    assert.equal(slla.subarray(2).toString('hex'), 'cc47524e4554');
    assert.equal(mtu.length, 8);
    assert.equal(mtu.readUInt32BE(4), 1500);
    assert.equal(prefix.length, 32);
    assert.equal(prefix[2], 64, 'prefix length');
    assert.equal(prefix[3], 0x40, 'A (autonomous) set, L (on-link) clear');
    assert.equal(prefix.readUInt32BE(4), 0xffffffff, 'valid lifetime');
    assert.equal(prefix.readUInt32BE(8), 0xffffffff, 'preferred lifetime');
    assert.equal(prefix.subarray(16).toString('hex'), `20010db8${'0'.repeat(24)}`);
  });

  test("the taps it serves: nic up's record of a routed tap names its table; nothing else does", () => {
    const pub = flat.routed.find((n) => n.name === 'public') as RoutedNetwork;
    const nic = flat.guests[0]?.nics[0];
    assert.ok(nic);
    const record = recordOf({
      elements: routedGuard(nic, pub, 'tap5').elements,
      routes: { table: 500, uplink: 'eth1', addresses: ['192.0.2.10', nic.address6 as string] },
    });
    assert.ok(record);
    const aliases = [
      record,
      'convergent m=52:54:00:00:01:04 4=52:54:00:00:01:04,62.217.124.10 f>antispoof',
      'uplink to the switch',
      '',
    ];
    assert.deepEqual(python(`print(json.dumps([ra.tap_table(a) for a in ${JSON.stringify(aliases)}]))`), [
      500,
      null,
      null,
      null,
    ]);
  });

  test('a router solicitation is answered only with hop limit 255, code 0, from the interface it names', () => {
    const answered = python(`
import socket, struct
info = lambda index: (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, bytes(16) + struct.pack("=I", index))
hops = lambda n: (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("=i", n))
rs = bytes([133, 0, 0, 0, 0, 0, 0, 0])
cases = [(rs, [info(7), hops(255)]), (rs, [info(7), hops(64)]), (bytes([133, 1]) + rs[2:], [info(7), hops(255)]),
         (bytes([135]) + rs[1:], [info(7), hops(255)]), (rs[:4], [info(7), hops(255)])]
print(json.dumps([ra.solicited(data, anc) for data, anc in cases]))
`);
    assert.deepEqual(answered, [7, null, null, null, null]);
  });

  test('one answer a second per tap: a flood of solicitations is dropped before anything is read', () => {
    const times = python(`
import socket, struct
anc = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, bytes(16) + struct.pack("=I", 1)),
       (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("=i", 255))]
rs, answered, seen = bytes([133, 0, 0, 0, 0, 0, 0, 0]), {}, []
ra.served = lambda tap, networks: seen.append(tap)  # the first thing read for a tap
for _ in range(3):
    ra.answer(None, {}, rs, anc, ("fe80::1", 0, 0, 1), {}, answered)
print(json.dumps(seen))
`);
    assert.deepEqual(times, ['lo']);
  });

  test('a broken ra.conf: the file and line, what is expected; exit 1, nothing served', () => {
    const bad = join(tmp, 'bad.conf');
    writeFileSync(
      bad,
      `${conf}network 501 2001:db8:1::/48 name other router 1800 valid infinite preferred infinite\n`,
    );
    const line = conf.split('\n').length;
    const r = spawnSync(PYTHON, ['-I', '-S', raHelper() as string, bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `ra: ${bad}:${line}: '501 2001:db8:1::/48' is not a table number and a /64\n`);
    const none = spawnSync(PYTHON, ['-I', '-S', raHelper() as string], { encoding: 'utf8' });
    assert.equal(none.stderr, 'ra: usage: ra.py RA.CONF\n');
  });
});
