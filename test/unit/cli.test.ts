// The convergent command as a user runs it: exit status 0 valid, 1 invalid input, 2 usage error;
// bad input never leaves partial output behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const tmp = mkdtempSync(join(tmpdir(), 'convergent-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');

describe('cli', () => {
  test('check: a valid spec exits 0 and summarises it', () => {
    const r = convergent('check', part4);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok: cluster part4, 2 nodes, 1 network, 2 guests, 4 forwards/);
    assert.match(r.stdout, /node tags: node1=1 node2=2/);
  });

  test('check: an invalid spec exits 1 with located problems and no stack trace', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, readFileSync(part4, 'utf8').replace('to: guest2', 'to: nobody'));
    const r = convergent('check', bad);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /bad\.yaml:\d+:\d+: error: forward to unknown guest "nobody"\n {2}fix: known guests: guest1, guest2/,
    );
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    // check never writes: its summary does not say that nothing was. (The checks that dial guest2's
    // port 2202 are a second problem: no node forwards it to guest2 any more.)
    assert.match(r.stderr, /\n2 problems found\.\n$/);
    assert.doesNotMatch(r.stderr, /written/);
  });

  test('check: a CGNAT spec is summarised with its counts in words', () => {
    const r = convergent('check', join(EXAMPLES_DIR, 'cgnat-demo.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /ok: CGNAT \S+ \(backend \w+\), 2 tenants, \d+ subscribers; pool 1 address x \d+ blocks of \d+ ports/,
    );
    assert.doesNotMatch(r.stdout, /\(es\)|\(s\)/);
  });

  test('check: a missing file is invalid input (1), an unknown option is a usage error (2)', () => {
    assert.equal(convergent('check', join(tmp, 'none.yaml')).code, 1);
    assert.equal(convergent('check', part4, '--frobnicate').code, 2);
    assert.equal(convergent('render').code, 2);
  });

  test('render: prints every file of the chosen node', () => {
    const r = convergent('render', part4, '--node', 'node2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^==> node2\/nftables\.conf <==\n#!\/usr\/sbin\/nft -f/);
    assert.match(r.stdout, /==> node2\/network\.sh <==\n#!\/bin\/sh/);
    assert.match(r.stdout, /==> node2\/interfaces\.d\/convergent <==/);
    assert.match(r.stdout, /==> node2\/sysctl\.d\/90-convergent\.conf <==/);
    assert.doesNotMatch(r.stdout, /node1\//);
  });

  test('render: an unknown node is a usage error naming the known ones', () => {
    const r = convergent('render', part4, '--node', 'node9');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no node "node9" .*; nodes: node1, node2/);
  });

  test('a usage error echoes control characters escaped, never raw', () => {
    const r = convergent('render', part4, '--node', 'x\u001b[2J\u0007');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^convergent: no node "x\\e\[2J\\x07" in /);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
    assert.doesNotMatch(r.stderr, /[\u001b\u0007]/);
  });

  test('render --out writes one directory per node', () => {
    const out = join(tmp, 'out');
    const r = convergent('render', part4, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['node1', 'node2']);
    assert.ok(existsSync(join(out, 'node1', 'nftables.conf')));
    assert.ok(existsSync(join(out, 'node1', 'sysctl.d', '90-convergent.conf')));
  });

  test('render --out with bad input writes nothing', () => {
    const bad = join(tmp, 'bad2.yaml');
    writeFileSync(bad, readFileSync(part4, 'utf8').replace('address: 10.5.5.202', 'address: 10.9.9.9'));
    const out = join(tmp, 'never');
    const r = convergent('render', bad, '--out', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing was written/);
    assert.equal(existsSync(out), false);
  });

  test('cgnat lookup and subscriber: a bad argument is a usage error (2) naming what is wrong', () => {
    const demo = join(EXAMPLES_DIR, 'cgnat-demo.yaml');
    const cases: [string[], RegExp][] = [
      [
        ['lookup', demo, '100.64.0.1:99999'],
        /^convergent: port "99999" of 100\.64\.0\.1:99999 is not a port: ports run from 1 to 65535\n {2}fix: /,
      ],
      [['lookup', demo, '100.64.0.1:0'], /port "0" .*ports run from 1 to 65535/],
      [['lookup', demo, '100.64.0.1:http'], /port "http" .*ports run from 1 to 65535/],
      [
        ['lookup', demo, '100.64.0.1'],
        /"100\.64\.0\.1" has no port.*\n {2}fix: give PUBLIC_IP:PORT, e\.g\. 100\.64\.0\.1:18500/,
      ],
      [['lookup', demo, '100.64.0.999:80'], /public address "100\.64\.0\.999" is not an IPv4 address/],
      [
        ['lookup', demo, '[2001:db8::1]:80'],
        /public address "2001:db8::1" is IPv6; the NAT and its port blocks are IPv4 only/,
      ],
      [['lookup', demo, '2001:db8::1'], /public address "2001:db8::1" is IPv6/],
      [['subscriber', demo, 'blue', '2001:db8::5'], /subscriber address "2001:db8::5" is IPv6/],
      [['subscriber', demo, 'blue', '100.64.0'], /subscriber address "100\.64\.0" is not an IPv4 address/],
    ];
    for (const [args, error] of cases) {
      const r = convergent('cgnat', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, error);
      assert.match(r.stderr, /\n {2}fix: \S/);
    }
  });

  test('render --help names every file render writes, for every example and the CGNAT netns backend', () => {
    const help = convergent('render', '--help').stdout;
    const specs = readdirSync(EXAMPLES_DIR).map((f) => join(EXAMPLES_DIR, f));
    const netns = join(tmp, 'cgnat-netns.yaml');
    writeFileSync(
      netns,
      readFileSync(join(EXAMPLES_DIR, 'cgnat-demo.yaml'), 'utf8').replace('backend: vrf', 'backend: netns'),
    );
    const written = new Set<string>();
    for (const spec of [...specs, netns]) {
      const r = convergent('render', spec);
      assert.equal(r.code, 0, r.stderr);
      for (const [, path] of r.stdout.matchAll(/^==> [^/]+\/(.+) <==$/gm))
        written.add((path as string).replace(/^netns\/[^.]+\./, 'netns/<tenant>.'));
    }
    assert.ok(written.has('namespaces.ip') && written.has('haproxy.cfg') && written.has('conntrackd.conf'));
    for (const path of written) assert.ok(help.includes(path), `render --help names ${path}`);
  });

  test("README's command table names --json for every command that has it", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((l) => l.startsWith('| `convergent '));
    // "`convergent cgnat lookup FILE IP:PORT [--json]` / `subscriber …`": each command's own synopsis.
    const synopses = rows.flatMap((row) => {
      const cell = row.split(' | ')[0] as string;
      const parts = [...cell.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/^convergent /, ''));
      const group = (parts[0] as string).split(' ')[0] as string;
      return parts.map((p) => (p.startsWith(`${group} `) ? p : `${group} ${p}`));
    });
    for (const command of [
      'lab test',
      'lab check',
      'lab status',
      'cgnat lookup',
      'cgnat subscriber',
      'cgnat export',
    ]) {
      const help = convergent(...command.split(' '), '--help').stdout;
      assert.match(help, /--json/, `${command} has --json`);
      const synopsis = synopses.find((s) => s.startsWith(`${command} `));
      assert.ok(synopsis, `a README row for ${command}`);
      assert.match(synopsis, /\[--json\]/, `README: ${synopsis}`);
    }
  });

  test('schema: prints a JSON Schema for editors', () => {
    const r = convergent('schema');
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout);
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    // A cluster spec, or a CGNAT spec (kind: cgnat).
    const [cluster, cgnat] = schema.anyOf;
    assert.ok(cluster.properties.forwards);
    assert.deepEqual(cluster.properties.strategy.enum, ['fullnat', 'stateless', 'ctsync']);
    assert.equal(cgnat.properties.kind.const, 'cgnat');
    assert.ok(cgnat.properties.tenants);
  });
});
