// What the lab tests of the seed examples share: running an example's lab and finding nothing left
// behind, a check's result, the example without its checks, a guest moved for \`lab apply\`, and
// connections held open across a change.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { parse, stringify } from 'yaml';
import { labDir } from '../../src/lab/registry.ts';
import type { CheckResult, LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { labTest, labUp, type Prepared, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { type HeldConnection, holdConnection } from '../../src/systems/cluster/lab/survival.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { failedNames } from './report.ts';

export const tmp = mkdtempSync(join(tmpdir(), 'convergent-lab-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

export const quiet = () => {};

export async function run(file: string, faults: Fault[] = []): Promise<LabReport> {
  const report = await labTest(prepare(file, faults), { progress: quiet });
  const left = realRunner(['ip', 'netns', 'list']).stdout;
  assert.ok(!left.includes(report.lab), `namespaces of ${report.lab} left behind:\n${left}`);
  assert.ok(!existsSync(labDir(report.lab)), 'the state directory is removed');
  return report;
}

export function result(report: LabReport, name: string): CheckResult {
  const r = report.results.find((x) => x.name === name);
  assert.ok(r, `no check named "${name}" in ${report.results.map((x) => x.name).join(', ')}`);
  return r;
}

/** The example with its checks: section removed, so the lab derives them. */
export function withoutChecks(file: string, name: string): string {
  const spec = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete spec.checks;
  const out = join(tmp, name);
  writeFileSync(out, stringify(spec));
  return out;
}

/**
 * A lab of `file` with every check passed once, and the same spec, checks and all, with `guest` on
 * `node`: what an operator edits before `lab apply`.
 */
export async function upAndMove(file: string, guest: string, node: string) {
  const spec = parse(readFileSync(file, 'utf8')) as { guests: Record<string, { node: string }> };
  (spec.guests[guest] as { node: string }).node = node;
  const movedFile = join(tmp, `moved-${guest}-${node}.yaml`);
  writeFileSync(movedFile, stringify(spec));
  const p = prepare(file);
  const { lab, run: labRun } = await labUp(p, { progress: quiet });
  const before = await runChecks(lab, p, quiet);
  assert.deepEqual(failedNames(before), []);
  return { lab, p, labRun, before, moved: prepare(movedFile) };
}

/** After the move every check of the spec runs again, the same checks, and every one passes. */
export async function checksAfterMove(
  lab: LabInstance,
  moved: Prepared,
  before: LabReport,
): Promise<LabReport> {
  const report = await runChecks(lab, moved, quiet);
  assert.deepEqual(failedNames(report), []);
  if (!before.derived)
    assert.deepEqual(
      report.results.map((r) => r.name),
      before.results.map((r) => r.name),
    );
  else assert.equal(report.results.length, before.results.length);
  return report;
}

let heldPort = 40000;
export async function holdAll(lab: LabInstance, p: Prepared, names: string[]): Promise<HeldConnection[]> {
  const held: HeldConnection[] = [];
  for (const name of names) {
    const probe = p.probes.find((x) => x.check.name === name);
    assert.ok(probe, name);
    const h = await holdConnection(lab, probe, heldPort++);
    assert.equal(h.opened.error, undefined, name);
    held.push(h);
  }
  return held;
}

export async function assertSurvived(held: HeldConnection[], guest: string): Promise<void> {
  for (const h of held) {
    const again = await h.again();
    h.close();
    assert.equal(again.error, undefined, 'the open connection still answers');
    assert.equal(again.answered, guest);
    assert.equal(again.saw, h.opened.saw, 'the guest still sees the same peer');
  }
}

/** On the ring with node1 cut: every TCP connection held through node2 and node3 still answers. */
export function assertRingHeldAcrossCut(report: LabReport): void {
  assert.deepEqual(
    report.afterCut?.established.map((e) => [e.name, e.survived]),
    [
      ['tcp/2202 via node2 -> guest2', true],
      ['tcp/2202 via node3 -> guest2', true],
      ['tcp/2203 via node2 -> guest3', true],
      ['tcp/2203 via node3 -> guest3', true],
    ],
  );
}
