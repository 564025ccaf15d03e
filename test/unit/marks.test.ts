// Marks that coexist (F36): values spread into marks.mask, check's refusals of a mask that overlaps a
// declared platform mark or is too small, and the lint that refuses a mark statement without its mask.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RulesetBuilder } from '../../src/nft/builder.ts';
import { NftLintError } from '../../src/nft/lint.ts';
import { renderRuleset } from '../../src/nft/render.ts';
import { ct, mark, meta, PRIORITY } from '../../src/nft/tree.ts';
import { compileCgnat } from '../../src/systems/cgnat/compile/index.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { bitLength, freeMask, spread } from '../../src/systems/marks/bits.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { cgnatFromText, cgnatProblemsOf, clusterFromText, problemsOf } from '../support/spec.ts';

const STATELESS = readFileSync(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'utf8');
const CGNAT = readFileSync(join(EXAMPLES_DIR, 'cgnat-demo.yaml'), 'utf8');
const withMarks = (text: string, marks: string) => `${text.trimEnd()}\nmarks: ${marks}\n`;

describe('marks: values spread into the mask', () => {
  test('bits of the value fill the bits of the mask from the lowest', () => {
    assert.equal(spread(5, 0xff), 5);
    assert.equal(spread(5, 0x30fc), 0x14);
    assert.equal(spread(255, 0x30fc), 0x30fc);
    assert.equal(spread(3, 0xff000000), 0x03000000);
    assert.equal(spread(0x1ff, 0xff), 0xff, 'bits beyond the mask are lost (check refuses such a spec)');
    assert.equal(bitLength(255), 8);
    assert.equal(bitLength(256), 9);
    assert.equal(freeMask(8, 0xffff00ff), 0x0000ff00);
    assert.equal(freeMask(8, 0xffffff00 | 0xff), undefined);
  });

  test("a stateless cluster's tags are written and read under marks.mask", () => {
    const c = clusterFromText(withMarks(STATELESS, '{ mask: 0xff000000 }'));
    const text = compileCluster(c)
      .map((p) => renderRuleset(p.ruleset, []).join(''))
      .join('\n');
    assert.match(text, /meta mark set meta mark & 0x00ffffff \| 0x01000000 comment "nodes\.node1\.tag 1/);
    assert.match(text, /meta mark set meta mark & 0x00ffffff \| 0x02000000 comment "nodes\.node2\.tag 2/);
    assert.match(text, /ct mark & 0xff000000 @node_tags/);
    assert.match(text, /ip saddr set ct mark & 0xff000000 map @node_public/);
    assert.match(text, /0x02000000 comment "nodes\.node2"/);
    // Every mark statement keeps the other bits: none sets a mark to a bare value or another mark.
    assert.doesNotMatch(text, /mark set (0x|meta mark\b(?! &)|ct mark\b(?! &))/);
  });

  test("a CGNAT tenant's mark, its ip rule and its keys are under the mask", () => {
    const c = cgnatFromText(withMarks(CGNAT, '{ mask: 0x00f0 }'));
    const plan = compileCgnat(c);
    const text = renderRuleset(plan.ruleset, []).join('');
    assert.match(text, /ct mark set ct mark & 0xffffff0f \| 0x00000010 comment "tenant blue/);
    assert.match(text, /meta mark set meta mark & 0xffffff0f \| 0x00000020 comment "tenant red/);
    assert.match(text, /ct direction reply ct mark & 0x000000f0 vmap @tenant_route/);
    const rules = plan.batches
      .flatMap((b) => b.commands.map((x) => x.line))
      .filter((l) => l.includes('fwmark'));
    assert.ok(rules.includes('rule add pref 900 fwmark 0x10/0xf0 lookup 1001'), rules.join('\n'));
  });
});

describe('marks: check refuses', () => {
  test('a mask overlapping a declared platform mark, with a mask that avoids it', () => {
    const spec = withMarks(
      STATELESS,
      '{ mask: 0xff00, platform: [{ name: kube-proxy, mark: 0x4000, mask: 0x4000 }] }',
    );
    const problems = problemsOf(spec);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0] as string,
      /^cluster\.yaml:\d+:\d+: error: marks\.mask 0x0000ff00 overlaps kube-proxy's mark 0x00004000\/0x00004000 in bits 0x00004000/,
    );
    assert.match(problems[0] as string, /fix: marks: \{ mask: 0x000000ff \}/);
    // The fix, applied, is accepted.
    assert.deepEqual(
      problemsOf(
        withMarks(
          STATELESS,
          '{ mask: 0x000000ff, platform: [{ name: kube-proxy, mark: 0x4000, mask: 0x4000 }] }',
        ),
      ),
      [],
    );
  });

  test("Neutron's two marks own every bit: no mask fits, and the fix says so", () => {
    const neutron =
      '[{ name: neutron, mark: 0x4000000, mask: 0xffff0000 }, { name: neutron, mark: 0x2, mask: 0xffff }]';
    const problems = problemsOf(withMarks(STATELESS, `{ mask: 0xff, platform: ${neutron} }`));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] as string, /overlaps neutron's mark 0x00000002\/0x0000ffff/);
    assert.match(problems[0] as string, /fix: the declared platforms own every bit/);
  });

  test('a mask with fewer bits than the largest node tag, at the mask', () => {
    const spec = withMarks(
      STATELESS.replace(
        'node2: { address: 192.168.122.12, tag: 2 }',
        'node2: { address: 192.168.122.12, tag: 9 }',
      ),
      '{ mask: 0x0700 }',
    );
    const problems = problemsOf(spec);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0] as string,
      /error: node node2's tag 9 needs 4 bits of the mark, and marks\.mask 0x00000700 has 3\n {2}fix: widen the mask: marks: \{ mask: 0x000000ff \}/,
    );
  });

  test('more tenants than the default mask has bits for, at the last tenant', () => {
    const tenants = Array.from(
      { length: 256 },
      (_, i) =>
        `  t${i}: { bridge: br-${i}, gateways: [100.127.255.254/10], subscribers: [100.64.0.${i}/32] }`,
    ).join('\n');
    const spec = CGNAT.replace(/\ntenants:\n(?: .*\n)+/, `\ntenants:\n${tenants}\n`);
    const problems = cgnatProblemsOf(spec).filter((p) => p.includes('mark'));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0] as string,
      /tenant t255's index 256 needs 9 bits of the mark, and marks\.mask 0x000000ff has 8/,
    );
  });
});

describe('marks: the lint refuses a mark without its mask', () => {
  const lintOf = (statement: Parameters<ReturnType<RulesetBuilder['table']>['rule']>[2]) => {
    const nft = new RulesetBuilder('cluster demo, node node1');
    try {
      nft.by('stateless', () => {
        const t = nft.table('ip', 'convergent', 'test');
        t.chain('in', 'entry', {
          type: 'filter',
          hook: 'prerouting',
          priority: PRIORITY.raw,
          policy: 'accept',
        });
        t.rule('in', 'a mark', statement);
      });
      nft.freeze();
    } catch (err) {
      assert.ok(err instanceof NftLintError, String(err));
      return err;
    }
    return undefined;
  };

  test('meta mark set 0x1 clobbers every other bit', () => {
    const err = lintOf({ kind: 'set-field', field: meta('mark'), value: { kind: 'const', value: mark(1) } });
    assert.equal(err?.rule, 'unmasked-mark');
    assert.match(
      err?.message ?? '',
      /\(stateless\).*sets meta mark without keeping the bits outside its mask/,
    );
  });

  test('ct mark set meta mark, and a mark read whole', () => {
    assert.equal(
      lintOf({ kind: 'set-field', field: ct('mark'), value: meta('mark') })?.rule,
      'unmasked-mark',
    );
    assert.equal(
      lintOf({ kind: 'match', left: ct('mark'), op: 'eq', right: { kind: 'const', value: mark(1) } })?.rule,
      'unmasked-mark',
    );
  });

  test('the masked forms pass', () => {
    const keep = { kind: 'mask', value: meta('mark'), mask: mark(0xffffff00), or: mark(1) } as const;
    assert.equal(lintOf({ kind: 'set-field', field: meta('mark'), value: keep }), undefined);
  });
});
