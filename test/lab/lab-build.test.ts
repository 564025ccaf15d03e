// Building a lab as the benches do: without the lab's own servers (a bench starts its own), the
// nodes' HAProxy and conntrackd still start and log into the lab's directory.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { labUp, prepare } from '../../src/systems/cluster/lab/lab.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

test('a lab without lab servers starts HAProxy and conntrackd on its nodes', async (t) => {
  if (!needsRoot(t)) return;
  const p = prepare(join(EXAMPLES_DIR, 'part3-ctsync.yaml'));
  const lines: string[] = [];
  const { lab, run } = await labUp({ ...p, servers: new Map() }, { progress: (l) => lines.push(l) });
  try {
    assert.ok(lines.includes('haproxy listening on node1, node2'), lines.join('\n'));
    assert.ok(
      lines.some((l) => l.startsWith('conntrackd running on node1, node2')),
      lines.join('\n'),
    );
    for (const log of ['node1-haproxy.log', 'node2-conntrackd.log'])
      assert.ok(existsSync(join(lab.dir, 'logs', log)), `${log} is missing`);
  } finally {
    run.cleanup();
  }
});
