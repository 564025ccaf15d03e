// Seed 004's steering as network.sh and ifupdown render it: a run after `insert:` is removed (or the
// router moved) deletes convergent's steering preferences the plan no longer has and flushes their
// tables when no longer rendered; ifdown of the guarded bridge takes its rules with it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderInterfaces } from '../../src/host/ifupdown.ts';
import { renderNetworkScript } from '../../src/host/network-script.ts';
import type { HostPlan } from '../../src/host/plan.ts';
import { edit } from '../support/ganeti/fixtures.ts';
import { plansOf, SEED004 } from '../support/router.ts';

const node1 = (text: string) => plansOf(text).find((p) => p.node === 'node1') as HostPlan;
const staleBlock = (script: string) => script.slice(script.indexOf("# Convergent's steering preferences"));

describe('network.sh: steering of a former plan', () => {
  const withInsert = renderNetworkScript(node1(SEED004), []);
  // Its checks expect fw1 in the path: without the appliance they go too.
  const withoutChecks = SEED004.slice(0, SEED004.indexOf('\nchecks:') + 1);
  const without = renderNetworkScript(
    node1(edit(withoutChecks, '    insert: fw1 ', '    # insert: fw1 ')),
    [],
  );

  test("keeps the plan's preferences and tables, after the rules are added", () => {
    const block = staleBlock(withInsert);
    assert.ok(withInsert.indexOf('ip -4 rule add pref 2009') < withInsert.indexOf(block), 'after the rules');
    assert.match(block, /case " 2000 2001 2008 2009 " in \*" \$pref "\*\) continue ;; esac/);
    // Tables by number: a name would come from the host's rt_tables.d, perhaps a former plan's.
    assert.match(block, /ip -N -4 rule show/);
    assert.match(block, /case " 253 254 255 100 " in \*" \$table "\*\) continue ;; esac/);
    // Only a table no rule looks up any more is flushed, and a table without routes stops nothing.
    assert.match(
      block,
      /grep -q " lookup \$table.*" \|\| ip -4 route flush table "\$table" 2>\/dev\/null \|\| true/,
    );
  });

  test("without insert: every steering preference deleted, every table it looked up but the kernel's flushed", () => {
    const block = staleBlock(without);
    assert.doesNotMatch(without, /rule add pref 20/);
    assert.match(block, /case " {2}" in/);
    assert.match(block, /while ip -4 rule del pref "\$pref" 2>\/dev\/null; do :; done/);
    assert.match(block, /case " 253 254 255 " in/);
  });
});

test('ifupdown: the guarded bridge takes its steering rules and the unreachable default down with it', () => {
  const text = renderInterfaces(node1(SEED004), []);
  const stanza = text.slice(text.indexOf('auto qbr-vm'), text.indexOf('auto qbr-fw'));
  const down = stanza.split('\n').filter((l) => l.trim().startsWith('down '));
  assert.deepEqual(
    down.map((l) => l.trim()),
    [
      'down while ip -4 rule del pref 2000 2>/dev/null; do :; done',
      'down while ip -4 rule del pref 2001 2>/dev/null; do :; done',
      'down while ip -4 rule del pref 2008 2>/dev/null; do :; done',
      'down while ip -4 rule del pref 2009 2>/dev/null; do :; done',
      'down ip route del unreachable default metric 4294967295 table 100 proto 241 2>/dev/null || true',
    ],
  );
});
