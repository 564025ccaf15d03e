// CGNAT specs: the deterministic port blocks (RFC 7422) and the errors a CGNAT spec can have.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { textOf } from '../../src/host/files.ts';
import { allBlocks, blockOf, ownerOf } from '../../src/systems/cgnat/compile/blocks.ts';
import { compileCgnat } from '../../src/systems/cgnat/compile/index.ts';
import type { Cgnat } from '../../src/systems/cgnat/model.ts';
import { renderCgnat } from '../../src/systems/cgnat/render.ts';
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.ts';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { cgnatFromText, cgnatProblemsOf } from '../support/spec.ts';

const DEMO = join(EXAMPLES_DIR, 'cgnat-demo.yaml');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
const ip = (s: string) => parseIPv4(s) as number;

/** A spec of `tenants` tenants with a /`length` of subscribers each, all of them 100.64.0.0/length. */
function generated(tenants: number, length: number, pool: string, block: number): string {
  const lines = [
    'kind: cgnat',
    'name: gen',
    'uplink: { interface: muplink, addresses: [203.0.113.1/24] }',
    `nat: { pool: [${pool}], block: ${block} }`,
    'tenants:',
  ];
  for (let t = 1; t <= tenants; t++)
    lines.push(
      `  t${t}: { bridge: br-${t}, gateways: [100.127.255.254/10], subscribers: [100.64.0.0/${length}] }`,
    );
  return `${lines.join('\n')}\n`;
}

describe('cgnat: deterministic port blocks', () => {
  const demo = cgnatFromText(readFileSync(DEMO, 'utf8'), DEMO);

  test('each subscriber gets the block the formula gives: pool[i / B], first + (i mod B) * size', () => {
    // i numbers the subscribers in spec order: blue's 16 (100.64.0.0/28), then red's 16.
    // B = floor((65535 - 1024 + 1) / 1024) = 63 blocks per public address.
    const [blue, red] = demo.tenants;
    assert.ok(blue && red);
    assert.equal(demo.nat.blocksPerAddress, 63);
    const expect = (i: number) => ({ public: ip('100.64.0.1'), firstPort: 1024 + (i % 63) * 1024 });
    for (const [tenant, offset] of [
      [blue, 0],
      [red, 16],
    ] as const)
      for (let a = 0; a < 16; a++) {
        const b = blockOf(demo, tenant, ip('100.64.0.0') + a);
        assert.deepEqual(
          { public: b?.public, firstPort: b?.firstPort, lastPort: b?.lastPort },
          { ...expect(offset + a), lastPort: expect(offset + a).firstPort + 1023 },
        );
      }
    // The demo's identical clients: blue_c1 and red_c1 are both 100.64.0.1.
    assert.equal(blockOf(demo, blue, ip('100.64.0.1'))?.firstPort, 2048);
    assert.equal(blockOf(demo, red, ip('100.64.0.1'))?.firstPort, 18432);
    assert.equal(blockOf(demo, blue, ip('100.64.0.16')), undefined, 'outside the subscriber prefix');
  });

  test('blocks spill over to the next pool address, and lookup inverts every port (100,000 subscribers)', () => {
    // 100 tenants x /23 = 51,200 ... use 196 tenants x 512 = 100,352 subscribers; 32 ports each.
    const big = cgnatFromText(generated(196, 23, '198.51.100.0/24', 32));
    assert.equal(big.nat.blocksPerAddress, 2016);
    const blocks = [...allBlocks(big)];
    assert.equal(blocks.length, 196 * 512);
    const last = blocks.at(-1);
    assert.equal(last?.index, 100_351);
    assert.equal(formatIPv4(last?.public ?? 0), `198.51.100.${Math.floor(100_351 / 2016)}`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: blocks.length - 1 }), fc.integer({ min: 0, max: 31 }), (i, p) => {
        const b = blocks[i];
        assert.ok(b);
        const owner = ownerOf(big, b.public, b.firstPort + p);
        assert.deepEqual(owner, b);
      }),
      { numRuns: 2000 },
    );
    // Ports below the range, past the last block of an address, and addresses outside the pool.
    assert.equal(ownerOf(big, ip('198.51.100.0'), 1023), undefined);
    assert.equal(ownerOf(big, ip('198.51.100.0'), 1024 + 2016 * 32), undefined);
    assert.equal(ownerOf(big, ip('198.51.101.0'), 5000), undefined);
    assert.equal(
      ownerOf(big, ip('198.51.100.60'), 5000),
      undefined,
      'a pool address past the last subscriber',
    );
  });

  test('cgnat lookup, subscriber and export answer from the spec', () => {
    const lookup = cli('cgnat', 'lookup', DEMO, '100.64.0.1:18500');
    assert.equal(lookup.status, 0, lookup.stderr);
    assert.equal(lookup.stdout, 'tenant red subscriber 100.64.0.1: public 100.64.0.1 ports 18432-19455\n');
    const json = cli('cgnat', 'lookup', DEMO, '100.64.0.1:2048', '--json');
    assert.deepEqual(JSON.parse(json.stdout), {
      tenant: 'blue',
      subscriber: '100.64.0.1',
      public: '100.64.0.1',
      ports: '2048-3071',
    });
    const nobody = cli('cgnat', 'lookup', DEMO, '100.64.0.1:1000');
    assert.equal(nobody.status, 3);
    assert.match(nobody.stderr, /^100\.64\.0\.1:1000: no subscriber owns it/);
    const reverse = cli('cgnat', 'subscriber', DEMO, 'blue', '100.64.0.2');
    assert.equal(reverse.stdout, 'tenant blue subscriber 100.64.0.2: public 100.64.0.1 ports 3072-4095\n');
    const csv = cli('cgnat', 'export', DEMO).stdout.trim().split('\n');
    assert.equal(csv.length, 33);
    assert.equal(csv[0], 'tenant,subscriber,public,first_port,last_port');
    assert.equal(csv[18], 'red,100.64.0.1,100.64.0.1,18432,19455');
    const bad = cli('cgnat', 'lookup', DEMO, '100.64.0.1');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /has no port.*\n {2}fix: give PUBLIC_IP:PORT, e\.g\. 100\.64\.0\.1:18500/);
  });
});

describe('cgnat: endpoint-independent filtering in the ruleset', () => {
  const CARRIER = join(EXAMPLES_DIR, 'cgnat-carrier.yaml');
  const carrier = cgnatFromText(readFileSync(CARRIER, 'utf8'), CARRIER);
  const nftOf = (c: Cgnat) => {
    const f = renderCgnat(compileCgnat(c)).find((x) => x.path === 'nftables.conf');
    assert.ok(f);
    return textOf(f);
  };

  test("an inbound flow's tenant comes from the public port block: one range per tenant and public address", () => {
    const text = nftOf(carrier);
    const map = /map block_tenant \{[^}]*elements = \{\n([^}]*)\}/.exec(text)?.[1];
    assert.deepEqual(
      map
        ?.trim()
        .split('\n')
        .map((l) => l.trim()),
      [
        // acme's 1024 subscribers: 1008 blocks of 64 on .10, then 16 on .11; globex's 512 after them
        // each jumps to its tenant's chain, which sets the tenant's mark under marks.mask
        '203.0.113.10 . 1024-65535 comment "tenant acme" : jump route-acme,',
        '203.0.113.11 . 1024-2047 comment "tenant acme" : jump route-acme,',
        '203.0.113.11 . 2048-34815 comment "tenant globex" : jump route-globex,',
      ],
    );
    assert.match(
      text,
      /update @mappings \{ ct reply ip daddr \. meta l4proto \. ct reply proto-dst : ct original ip saddr \. ct original proto-src \}/,
    );
    assert.match(
      text,
      /ip daddr @nat_pool meta l4proto \{ tcp, udp \} dnat ip to ip daddr \. meta l4proto \. th dport map @mappings/,
    );
  });

  test('address-and-port-dependent filtering is conntrack alone: no learned mappings, no inbound dnat', () => {
    const text = nftOf({ ...carrier, nat: { ...carrier.nat, filtering: 'address-and-port-dependent' } });
    for (const absent of ['@mappings', '@nat_pool', '@block_tenant', 'ct status dnat'])
      assert.equal(text.includes(absent), false, `${absent} in the ruleset`);
    assert.match(text, /snat ip to ct mark & 0x000000ff \. ip saddr map @port_blocks/);
  });
});

describe('cgnat: spec errors', () => {
  const BASE = readFileSync(DEMO, 'utf8');
  const variant = (from: string, to: string) => {
    assert.ok(BASE.includes(from), `fixture text not found: ${from}`);
    return BASE.replace(from, to);
  };

  test('the demo example is valid', () => {
    assert.deepEqual(cgnatProblemsOf(BASE), []);
  });

  const CASES: { name: string; from: string; to: string; expected: RegExp; more?: RegExp[] }[] = [
    {
      name: 'more subscribers than the pool has blocks',
      from: 'block: 1024 ',
      to: 'block: 4096 ',
      expected:
        /^cgnat\.yaml:\d+:\d+: error: the pool serves 15 subscribers \(1 address x 15 blocks of 4096 ports\) but the tenants have 32\n {2}fix: add public addresses \(3 needed\), make blocks smaller, or narrow the subscriber prefixes$/,
    },
    {
      name: 'overlapping subscriber prefixes within one tenant',
      from: 'subscribers: [100.64.0.0/28]   # the same',
      to: 'subscribers: [100.64.0.0/28, 100.64.0.8/29]   # the same',
      expected:
        /error: 100\.64\.0\.8\/29 overlaps 100\.64\.0\.0\/28 of the same tenant\n {2}fix: a tenant's subscriber prefixes are disjoint/,
    },
    {
      name: 'a client address that is no subscriber and not routed to it',
      from: 'red_c1: { addresses: [100.64.0.1,',
      to: 'red_c1: { addresses: [100.64.0.99,',
      expected:
        /error: 100\.64\.0\.99 is neither a subscriber address of tenant red nor a public prefix routed to red_c1/,
    },
    {
      name: 'a route to a client of another tenant',
      from: '{ to: 192.0.2.2/32, client: blue_c2 }',
      to: '{ to: 192.0.2.2/32, client: red_c1 }',
      expected: /error: tenant blue has no client "red_c1"\n {2}fix: route to one of: blue_c1, blue_c2/,
      // and, in consequence, blue_c2's 192.0.2.2 is routed to nobody:
      more: [
        /error: 192\.0\.2\.2 is neither a subscriber address of tenant blue nor a public prefix routed to blue_c2/,
      ],
    },
    {
      name: 'a client named like a tenant',
      from: '      red_c1: { addresses',
      to: '      blue: { addresses: [100.64.0.5] }\n      red_c1: { addresses',
      expected: /error: "blue" is both a tenant and a client of tenant red/,
    },
    {
      name: 'a mapping check with one destination',
      from: 'nat: limit, from: blue_c2, to: 192.0.2.1, proto: tcp',
      to: 'nat: mapping, from: blue_c2, to: 192.0.2.1, proto: tcp',
      expected:
        /error: nat: mapping dials several destinations from one source port\n {2}fix: give two or more addresses/,
    },
    {
      name: 'a filtering check without its inbound leg',
      from: 'proto: udp, port: 5000, inbound: { from: uplink, source: 192.0.2.1 }, expect: { sees: 192.0.2.1 } }',
      to: 'proto: udp, port: 5000 }',
      expected:
        /error: nat: filtering needs the second leg\n {2}fix: add inbound: \{ from: <peer or client> \}/,
    },
    {
      name: 'a filtering check that expects to get in past address-and-port-dependent filtering',
      from: '  connections: 16 ',
      to: '  filtering: address-and-port-dependent\n  connections: 16 ',
      expected:
        /error: with nat.filtering address-and-port-dependent only the host the client sent to may answer it\n {2}fix: expect: \{ reaches: false \}, or set nat.filtering: endpoint-independent/,
    },
    {
      name: 'a NAT behaviour check over ping',
      from: 'nat: limit, from: blue_c2, to: 192.0.2.1, proto: tcp, port: 80',
      to: 'nat: limit, from: blue_c2, to: 192.0.2.1, proto: ping',
      expected: /error: nat: limit is about TCP and UDP mappings\n {2}fix: use proto: udp or proto: tcp/,
    },
    {
      name: 'a check from an unknown host',
      from: 'from: red_c1, to: 192.0.2.1, proto: ping }',
      to: 'from: red_c9, to: 192.0.2.1, proto: ping }',
      expected: /error: no host "red_c9"\n {2}fix: hosts: main, uplink, blue_c1, blue_c2, red_c1/,
    },
  ];
  for (const c of CASES)
    test(c.name, () => {
      const problems = cgnatProblemsOf(variant(c.from, c.to));
      const expected = [c.expected, ...(c.more ?? [])];
      assert.equal(problems.length, expected.length, problems.join('\n'));
      for (const [i, re] of expected.entries()) assert.match(problems[i] as string, re);
    });

  test('a CGNAT spec given to a cluster command names its kind', () => {
    const r = cli('lab', 'apply', DEMO);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /cgnat-demo\.yaml:7:7: error: this is a CGNAT spec \(kind: cgnat\); this command takes a cluster spec\n {2}fix: .*a CGNAT lab is not changed in place: lab down, then lab up the changed spec/,
    );
  });
});
