// `lab apply` then `lab check`, as an operator migrates a guest: the spec's own checks, unedited
// but for the guest's node, all pass against the running lab with the guest on its new node.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { LabReport } from '../../src/lab/result.ts';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'convergent-apply-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('lab apply moves guest2 to node1; lab check runs the same 14 checks and all pass', (t) => {
  if (!needsRoot(t)) return;
  const spec = parse(readFileSync(part4, 'utf8')) as { guests: { guest2: { node: string } } };
  spec.guests.guest2.node = 'node1';
  const moved = join(tmp, 'part4-guest2-on-node1.yaml');
  writeFileSync(moved, stringify(spec));

  const up = convergent('lab', 'up', part4);
  assert.equal(up.code, 0, up.stderr);
  const id = /^lab (cvg-\d+-[0-9a-f]{4}) is up/m.exec(up.stdout)?.[1];
  assert.ok(id, up.stdout);
  try {
    const before = convergent('lab', 'check', id, '--json');
    assert.equal(before.code, 0, before.stdout);
    const apply = convergent('lab', 'apply', moved, '--lab', id);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /^guest2: node2 -> node1$/m);

    const check = convergent('lab', 'check', id);
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, /^14 passed, 0 failed /m);
    const report = JSON.parse(convergent('lab', 'check', id, '--json').stdout) as LabReport;
    const names = (r: LabReport) => r.results.map((x) => x.name);
    assert.deepEqual(names(report), names(JSON.parse(before.stdout) as LabReport));
    const row = (name: string) => report.results.find((r) => r.name === name);
    assert.equal(row("guest2's gateway is its host alone")?.answered, 'node1');
    assert.deepEqual(
      [row('ssh -p 2202 via foreign -> guest2')?.enters, row('ssh -p 2202 via foreign -> guest2')?.leaves],
      ['node2', 'node1'],
    );
  } finally {
    const down = convergent('lab', 'down', id);
    assert.equal(down.code, 0, down.stderr);
  }
});
