// Marks that coexist (F36), for real: a foreign table on every node sets a bit of its own in the
// packet mark before convergent's rules (as kube-proxy's 0x4000 would) and one in the connection
// mark, and counts after them whether its bits survived. With convergent's masked statements every
// stateless check passes and both bits survive; with the entering node's tag written unmasked
// (`meta mark set 0x2`, as before issue 17) the packet bit is lost on the very same flows.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { realRunner } from '../../src/lab/run.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { labUp, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { failedNames } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');
const quiet = () => {};

// Prerouting -400 comes before convergent's stateless rewrite (raw, -300); mangle (-150) after
// conntrack; postrouting 300 after convergent's ct-mark copy (filter) and its reply rewrite (srcnat-10).
const FOREIGN = `table inet foreign
delete table inet foreign
table inet foreign {
	counter meta_kept {}
	counter meta_lost {}
	counter ct_kept {}
	counter ct_lost {}
	chain mark_early {
		type filter hook prerouting priority -400; policy accept;
		tcp dport 80 meta mark set meta mark | 0x00004000
	}
	chain ctmark {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.5.5.0/24 tcp dport 80 ct mark set ct mark | 0x00008000
	}
	chain count_late {
		type filter hook postrouting priority 300; policy accept;
		ip daddr 10.5.5.0/24 tcp dport 80 meta mark & 0x00004000 == 0x00004000 counter name meta_kept
		ip daddr 10.5.5.0/24 tcp dport 80 meta mark & 0x00004000 == 0 counter name meta_lost
		ip daddr 10.5.5.0/24 tcp dport 80 ct mark & 0x00008000 == 0x00008000 counter name ct_kept
		ip daddr 10.5.5.0/24 tcp dport 80 ct mark & 0x00008000 == 0 counter name ct_lost
	}
}
`;

const nft = (lab: LabInstance, node: string, args: string[], input?: string) => {
  const r = realRunner(['ip', 'netns', 'exec', lab.ns(node), 'nft', ...args], input ? { input } : {});
  assert.equal(r.code, 0, `nft ${args.join(' ')} on ${node}: ${r.stderr}`);
  return r.stdout;
};

/** The packets a named counter of the foreign table saw on a node. */
function packets(lab: LabInstance, node: string, name: string): number {
  const listed = JSON.parse(nft(lab, node, ['-j', 'list', 'counter', 'inet', 'foreign', name])) as {
    nftables: { counter?: { packets: number } }[];
  };
  return listed.nftables.find((o) => o.counter)?.counter?.packets ?? -1;
}

describe('lab: marks that coexist (F36)', () => {
  test("a foreign table's mark bits survive convergent's stateless rules; an unmasked tag loses them", async (t) => {
    if (!needsRoot(t)) return;
    const p = prepare(part4);
    const { lab, run } = await labUp(p, { progress: quiet });
    try {
      for (const node of ['node1', 'node2']) nft(lab, node, ['-f', '-'], FOREIGN);
      const report = await runChecks(lab, p, quiet);
      assert.deepEqual(failedNames(report), [], 'every check passes beside the foreign table');
      // node2 lets the foreign flow in (its tag goes into the mark), node1 hosts guest1 (ct mark copy).
      for (const node of ['node1', 'node2']) {
        assert.ok(packets(lab, node, 'meta_kept') > 0, `${node}: packets kept the foreign bit`);
        assert.equal(packets(lab, node, 'meta_lost'), 0, `${node}: no packet lost the foreign bit`);
      }
      assert.ok(packets(lab, 'node1', 'ct_kept') > 0, 'node1: flows kept the foreign connection bit');
      assert.equal(packets(lab, 'node1', 'ct_lost'), 0, 'node1: no flow lost it to the tag copy');
      const conntrack = realRunner(['ip', 'netns', 'exec', lab.ns('node1'), 'conntrack', '-L']).stdout;
      // 0x8000 | 0x2 = 32770: the foreign bit and node2's tag side by side in one flow's mark.
      assert.match(conntrack, /dst=10\.5\.5\.201 .*dport=80 .*mark=32770 /, conntrack);

      // The same rule unmasked on the entering node, as convergent wrote it before: the bit is gone.
      const rewrite = nft(lab, 'node2', ['-a', 'list', 'chain', 'ip', 'convergent', 'stateless-rewrite']);
      const handle = /meta mark set meta mark & 0x[0-9a-f]+ \| 0x00000002 .*# handle (\d+)/.exec(
        rewrite,
      )?.[1];
      assert.ok(handle, rewrite);
      nft(lab, 'node2', [
        'replace rule ip convergent stateless-rewrite handle',
        handle,
        'meta mark set 0x00000002',
      ]);
      nft(lab, 'node2', ['reset counters table inet foreign']);
      await runChecks(lab, p, quiet);
      assert.ok(packets(lab, 'node2', 'meta_lost') > 0, 'node2: the unmasked tag clobbered the foreign bit');
    } finally {
      run.cleanup();
    }
  });
});
