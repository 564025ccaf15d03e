// The CGNAT router's rendered files load, unchanged, where they can on this kernel: the netns
// backend's (no VRF needed) into scratch namespaces; the vrf backend's ruleset with nft -c.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { textOf } from '../../src/host/files.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { realRunner } from '../../src/lab/run.ts';
import { compileCgnat } from '../../src/systems/cgnat/compile/index.ts';
import { renderCgnat } from '../../src/systems/cgnat/render.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';
import { cgnatFromText } from '../support/spec.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-cgnat-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const DEMO = join(EXAMPLES_DIR, 'cgnat-demo.yaml');

function ok(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
}

describe('cgnat: rendered files load', () => {
  test('backend netns: the router namespace, one namespace per tenant, rules, sysctls and the ruleset', (t) => {
    if (!needsRoot(t)) return;
    const spec = parse(readFileSync(DEMO, 'utf8')) as { backend: string };
    spec.backend = 'netns';
    const cgnat = cgnatFromText(stringify(spec));
    const run = new NamespaceRun();
    try {
      const plan = compileCgnat(cgnat, { namespaceOf: (tenant) => run.ns(tenant.name) });
      const dir = join(scratch, 'netns');
      const files = renderCgnat(plan);
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), textOf(f));
      }
      const router = run.add('main');
      run.adopt(cgnat.tenants.map((tenant) => run.ns(tenant.name)));
      ok(
        run.exec(router, ['ip', 'link', 'add', 'muplink', 'type', 'veth', 'peer', 'name', 'peer0']),
        'uplink',
      );
      for (const b of plan.batches) {
        const where = b.namespace ? ['-n', b.namespace] : b.global ? [] : ['-n', router];
        const argv = ['ip', ...(b.family === 6 ? ['-6'] : []), ...where, '-batch', join(dir, b.file)];
        ok(realRunner(argv), argv.join(' '));
      }
      ok(run.exec(router, ['sysctl', '-q', '-p', join(dir, 'sysctl.d/90-convergent.conf')]), 'sysctl -p');
      for (const [ns] of plan.namespaceSysctls)
        ok(run.exec(ns, ['sysctl', '-q', '-p', join(dir, `netns/${ns}.sysctl.conf`)]), `sysctl -p in ${ns}`);
      ok(run.exec(router, ['nft', '-c', '-f', join(dir, 'nftables.conf')]), 'nft -c -f');
      ok(run.exec(router, ['nft', '-f', join(dir, 'nftables.conf')]), 'nft -f');
      ok(run.exec(router, ['nft', '-f', join(dir, 'nftables.conf')]), 'nft -f (reload)');

      // What an operator would look at: the tenant's gateway in its namespace, the rules, the zones.
      const blue = run.exec(run.ns('blue'), ['ip', '-o', 'addr', 'show', 'dev', 'br-blue']).stdout;
      assert.match(blue, /inet 100\.127\.255\.254\/10/);
      assert.match(blue, /inet6 2001:db8:b:10::ffff\/64/);
      const rules = run.exec(router, ['ip', 'rule', 'show']).stdout;
      assert.match(rules, /^900:\s+from all fwmark 0x1\/0xff lookup 1001$/m);
      assert.match(rules, /^900:\s+from all fwmark 0x2\/0xff lookup 1002$/m);
      assert.match(
        run.exec(router, ['ip', '-6', 'rule', 'show']).stdout,
        /^900:\s+from all fwmark 0x2\/0xff lookup 1002$/m,
      );
      assert.match(
        run.exec(router, ['ip', 'route', 'show', 'table', '1002']).stdout,
        /^default via 169\.254\.0\.10 dev red/m,
      );
      const zones = run.exec(router, ['nft', 'list', 'map', 'inet', 'convergent', 'tenant_zone']).stdout;
      assert.match(zones, /"blue" comment "tenant blue" : 1/);
      assert.match(zones, /"red" comment "tenant red" : 2/);
      const forwarding = run.exec(run.ns('red'), ['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim();
      assert.equal(forwarding, '1');
    } finally {
      run.cleanup();
    }
    const left = realRunner(['ip', 'netns', 'list']).stdout;
    assert.ok(!left.includes(run.prefix), `namespaces left: ${left}`);
  });

  test('backend vrf: the ruleset passes nft -c (the VRFs need the VM lab)', (t) => {
    if (!needsRoot(t)) return;
    const cgnat = cgnatFromText(readFileSync(DEMO, 'utf8'));
    const nft = renderCgnat(compileCgnat(cgnat)).find((f) => f.path === 'nftables.conf');
    assert.ok(nft);
    const path = join(scratch, 'vrf-nftables.conf');
    writeFileSync(path, textOf(nft));
    const run = new NamespaceRun();
    try {
      ok(run.exec(run.add('main'), ['nft', '-c', '-f', path]), 'nft -c -f');
    } finally {
      run.cleanup();
    }
  });
});
