// Marks that coexist (F36), for every example: each node's (or the CGNAT router's) rendered
// nftables.conf is loaded beside a foreign table that marks TCP under its own bits (kube-proxy's
// 0x4000 on packets, 0x8000 on connections), and a real connection that needs both bits passes the
// host (the rig's routes are in a table only `fwmark 0x4000/0x4000` selects, and the foreign table
// drops forwarded TCP without 0x8000). Where the example writes marks the flow is one convergent
// marks (a stateless forward to the node's guest, a CGNAT subscriber), its connection carries both
// convergent's value and the foreign bit, and the same ruleset with its mark statements unmasked
// (`meta mark set 0x1`, as before issue 17) breaks the flow. An example without marks must have no
// mark statement at all. Netdev hooks on VLAN devices (eth1.100) get veth stand-ins of that name.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FILES, textOf } from '../../src/host/files.ts';
import { exampleFiles, exampleName, renderExample } from '../support/examples.ts';
import { type MarkFlow, markFlow } from '../support/mark-flows.ts';
import { FOREIGN, FOREIGN_CONN_BIT, MarkRig } from '../support/mark-rig.ts';
import { needsRoot } from '../support/root.ts';

interface Case {
  readonly name: string;
  readonly ruleset: string;
  readonly flow: MarkFlow;
}

const cases: Case[] = exampleFiles().flatMap((file) =>
  [...renderExample(file)].map(([host, files]) => {
    const nft = files.find((f) => f.path === FILES.nftables);
    if (!nft) throw new Error(`${exampleName(file)} ${host}: no ${FILES.nftables}`);
    return { name: `${exampleName(file)} ${host}`, ruleset: textOf(nft), flow: markFlow(file, host) };
  }),
);

/** The ruleset as convergent wrote marks before issue 17: every mark statement sets its value whole. */
function unmasked(ruleset: string): { text: string; count: number } {
  let count = 0;
  const text = ruleset.replace(
    /\b(meta|ct) mark set (?:meta|ct) mark & 0x[0-9a-f]+(?: \| (0x[0-9a-f]+))?/g,
    (_all, key: string, value: string | undefined) => {
      count++;
      return `${key} mark set ${value ?? '0x00000000'}`;
    },
  );
  return { text, count };
}

// One set of namespaces for all cases, made by the first case that runs and removed at the end.
let rig: MarkRig | undefined;
async function theRig(): Promise<MarkRig> {
  if (rig) return rig;
  rig = new MarkRig();
  await rig.listen(cases.map((c) => c.flow.port));
  return rig;
}
after(() => rig?.cleanup());

describe('lab: marks that coexist with a foreign table, every example (F36)', () => {
  test('the rig is sound: its flow needs the foreign bits, and passes with them', async (t) => {
    if (!needsRoot(t)) return;
    const r = await theRig();
    const { flow } = cases[0] as Case;
    r.wire(flow, '');
    assert.ok(r.connect(flow).error, 'without the foreign table the flow has no route');
    r.load('foreign', FOREIGN);
    const probe = r.connect(flow);
    assert.equal(probe.error, undefined, `with it the flow passes: ${probe.error}`);
  });

  for (const c of cases) {
    test(`${c.name}: ${c.flow.what}`, async (t) => {
      if (!needsRoot(t)) return;
      const r = await theRig();
      r.wire(c.flow, c.ruleset);
      r.load('foreign', FOREIGN);
      r.load('convergent', c.ruleset);
      const probe = r.connect(c.flow);
      assert.equal(probe.error, undefined, `the flow passes beside ${c.name}'s ruleset: ${probe.error}`);
      const seen = /^server saw (\S+):\d+$/.exec(probe.banner ?? '')?.[1];
      assert.ok(seen && c.flow.sees.includes(seen), `${probe.banner}: from ${c.flow.sees.join(' or ')}`);

      const statements = unmasked(c.ruleset);
      if (!c.flow.marked) {
        assert.equal(statements.count, 0, `${c.name} writes marks: give it a flow through them`);
        assert.doesNotMatch(c.ruleset, /mark set/, `${c.name} writes marks: give it a flow through them`);
        return;
      }
      // Both owners' bits in one connection's mark: the foreign one and convergent's value.
      const both = probe.marks.filter((m) => m & FOREIGN_CONN_BIT && m & c.flow.mask);
      assert.ok(both.length > 0, `connection marks ${probe.marks.join(', ')}: foreign and convergent bits`);

      assert.ok(statements.count > 0);
      r.wire(c.flow, c.ruleset);
      r.load('foreign', FOREIGN);
      r.load('unmasked', statements.text);
      const broken = r.connect(c.flow);
      assert.ok(broken.error, `with ${statements.count} mark statements unmasked the flow must fail`);
    });
  }
});
