// The rendered files load, unchanged, into a scratch network namespace with the node's interfaces:
// `sh network.sh`, `sysctl -p`, `nft -c -f`, then `nft -f` twice; other software's tables survive.
// Nodes with bonds or VLANs of their own load in the VM (test/vm/ifupdown.test.ts): this kernel has neither.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import { clusterExamples, exampleName } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-load-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The interfaces the rendered files expect to exist already: NICs, uplink ports and pipes. */
function hardware(plan: HostPlan): string[] {
  const made = new Set(plan.links.filter((l) => l.kind !== 'nic').map((l) => l.name));
  const nics = plan.links.filter((l) => l.kind === 'nic').map((l) => l.name);
  return [...new Set([...nics, ...plan.bridges.flatMap((b) => b.ports)])].filter((p) => !made.has(p));
}

function ok(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
}

describe('render: files load into a namespace unchanged', () => {
  for (const file of clusterExamples()) {
    for (const plan of compileCluster(readCluster(file)).filter((p) =>
      p.links.every((l) => l.kind === 'nic'),
    )) {
      test(`${exampleName(file)} ${plan.node}`, (t) => {
        if (!needsRoot(t)) return;
        const dir = join(scratch, exampleName(file), plan.node);
        for (const f of renderNode(plan)) {
          mkdirSync(dirname(join(dir, f.path)), { recursive: true });
          writeFileSync(join(dir, f.path), textOf(f));
        }
        const run = new NamespaceRun();
        try {
          const ns = run.add(plan.node);
          hardware(plan).forEach((port, i) => {
            ok(
              run.exec(ns, ['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', `peer${i}`]),
              `veth ${port}`,
            );
          });
          ok(run.exec(ns, ['sh', join(dir, FILES.networkScript)]), 'sh network.sh');
          ok(run.exec(ns, ['sysctl', '-p', join(dir, FILES.sysctl)]), 'sysctl -p');
          ok(run.exec(ns, ['nft', '-c', '-f', join(dir, FILES.nftables)]), 'nft -c -f');

          // Another program's table, present before and after our loads.
          ok(
            run.exec(ns, [
              'nft',
              'add table inet other; add chain inet other input { type filter hook input priority 0; }',
            ]),
            'foreign table',
          );
          ok(run.exec(ns, ['nft', '-f', join(dir, FILES.nftables)]), 'nft -f');
          ok(run.exec(ns, ['nft', '-f', join(dir, FILES.nftables)]), 'nft -f (reload)');

          const listed = JSON.parse(run.exec(ns, ['nft', '-j', 'list', 'ruleset']).stdout) as {
            nftables: Record<string, { family: string; name: string; table?: string }>[];
          };
          const tables = listed.nftables.flatMap((o) =>
            o.table ? [`${o.table.family} ${o.table.name}`] : [],
          );
          const ours = plan.ruleset.tables.map((t) => `${t.family} ${t.name}`);
          assert.deepEqual(
            tables.sort(),
            ['inet other', ...ours].sort(),
            'our tables once each, and the foreign one kept',
          );
          const rules = listed.nftables.filter((o) => {
            const rule = o.rule as unknown as { family: string; table: string } | undefined;
            return rule !== undefined && ours.includes(`${rule.family} ${rule.table}`);
          }).length;
          const planned = plan.ruleset.tables.reduce(
            (n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0),
            0,
          );
          assert.equal(rules, planned, 'the reload replaced our rules instead of adding to them');

          const addr = run.exec(ns, ['ip', '-j', 'addr', 'show']).stdout;
          for (const a of plan.addresses)
            assert.ok(addr.includes(`"local":"${a.cidr.split('/')[0]}"`), `address ${a.cidr} on ${a.dev}`);
          if (plan.proxies.length > 0)
            ok(run.exec(ns, ['haproxy', '-c', '-q', '-f', join(dir, FILES.haproxy)]), 'haproxy -c -f');
          // A node routes for its gateway networks; one that only bridges its guests does not.
          const routes = plan.sysctls.some((c) => c.key.join('.') === 'net.ipv4.ip_forward');
          const forward = run.exec(ns, ['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim();
          assert.equal(forward, routes ? '1' : '0');
        } finally {
          run.cleanup();
        }
      });
    }
  }
});
