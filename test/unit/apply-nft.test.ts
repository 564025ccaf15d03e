// apply's nft part without root: the terse listing normalized, nft's JSON elements read back as our
// own element text, the element delta and its lines, the replace transaction, and which of the two
// the part chooses (record, drift, structure, nft refusing the delta), with a fake nft.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Desired } from '../../src/apply/desired.ts';
import {
  blockElements,
  deltaLines,
  elementDelta,
  plannedSets,
  structureChanges,
  structureOf,
} from '../../src/apply/nft/delta.ts';
import { elementsOf, elementsOfListing } from '../../src/apply/nft/elements.ts';
import { nftPart } from '../../src/apply/nft/part.ts';
import { liveTablesOf } from '../../src/apply/nft/read.ts';
import { writeNftRecord } from '../../src/apply/nft/record.ts';
import { replaceText } from '../../src/apply/nft/replace.ts';
import type { RunResult } from '../../src/lab/run.ts';
import type { Element, NamedSet, Ruleset } from '../../src/nft/tree.ts';
import { ifname, mark, proto, service, v4 } from '../../src/nft/tree.ts';

const scratch = mkdtempSync(join(tmpdir(), 'convergent-apply-nft-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const forward = (port: number, to: string, toPort: number): Element => ({
  key: [proto('tcp'), service(port)],
  value: [v4(to), service(toPort)],
  comment: `forwards tcp/${port}`,
});

const forwards = (elements: Element[]): NamedSet => ({
  name: 'fwd',
  comment: 'forwards',
  key: ['inet_proto', 'inet_service'],
  value: ['ipv4_addr', 'inet_service'],
  interval: false,
  elements,
});

const plugged: NamedSet = {
  name: 'plugged',
  comment: 'taps',
  key: ['ifname'],
  interval: false,
  filledBy: 'nic',
  elements: [],
};

const tree = (elements: Element[], rule = 'counter'): Ruleset => ({
  tables: [
    {
      family: 'ip',
      name: 'convergent',
      comment: 'c',
      sets: [forwards(elements), plugged],
      chains: [
        { name: 'pre', comment: 'p', rules: [{ statements: [{ kind: rule as 'counter' }], comment: '' }] },
      ],
    },
  ],
});

const ONE = [forward(2201, '10.0.0.1', 22)];
const TWO = [forward(2201, '10.0.0.2', 22), forward(2300, '10.0.0.1', 22)];

/** A terse listing: convergent's table (with handles and counters) and someone else's. */
const listing = (packets: number, extraRule = false) =>
  JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'ip', name: 'convergent', handle: 3 } },
      {
        map: {
          family: 'ip',
          name: 'fwd',
          table: 'convergent',
          type: ['inet_proto', 'inet_service'],
          handle: 4,
        },
      },
      { set: { family: 'ip', name: 'plugged', table: 'convergent', type: 'ifname', handle: 5 } },
      {
        rule: {
          family: 'ip',
          table: 'convergent',
          chain: 'pre',
          handle: 9 + packets,
          expr: [{ counter: { packets, bytes: packets * 60 } }],
        },
      },
      ...(extraRule
        ? [{ rule: { family: 'ip', table: 'convergent', chain: 'pre', expr: [{ drop: null }] } }]
        : []),
      { table: { family: 'inet', name: 'foreign', handle: 1 } },
      { rule: { family: 'inet', table: 'foreign', chain: 'c', handle: 2, expr: [{ accept: null }] } },
    ],
  });

describe('the terse listing', () => {
  test("keeps convergent's tables only, without handles, counters at zero", () => {
    const a = liveTablesOf(listing(0));
    const b = liveTablesOf(listing(1234));
    assert.deepEqual(
      a.map((t) => `${t.family} ${t.name}`),
      ['ip convergent'],
    );
    assert.equal(a[0]?.structure, b[0]?.structure);
    assert.doesNotMatch(a[0]?.structure ?? '', /handle|foreign|1234/);
    assert.deepEqual(a[0]?.sets, [
      { name: 'fwd', map: true },
      { name: 'plugged', map: false },
    ]);
    assert.notEqual(liveTablesOf(listing(0, true))[0]?.structure, a[0]?.structure);
  });
});

describe("nft's JSON elements as our text", () => {
  test('concatenations, map values, comments, ifnames, marks, prefixes and verdicts', () => {
    const json = JSON.stringify({
      nftables: [
        {
          map: {
            family: 'ip',
            table: 'convergent',
            name: 'fwd',
            type: ['inet_proto', 'inet_service'],
            map: 'ipv4_addr . inet_service',
            elem: [
              [
                { elem: { val: { concat: ['tcp', 2201] }, comment: 'forwards tcp/2201' } },
                { concat: ['10.0.0.1', 22] },
              ],
            ],
          },
        },
        { set: { family: 'ip', table: 'convergent', name: 'tags', type: 'mark', elem: [1, 255] } },
        {
          map: {
            family: 'bridge',
            table: 'convergent_ports',
            name: 'from_guest',
            type: 'ifname',
            map: 'verdict',
            elem: [['tap7', { jump: { target: 'antispoof' } }]],
          },
        },
        {
          set: {
            family: 'ip',
            table: 'convergent',
            name: 'direct',
            type: ['ifname', 'ipv4_addr'],
            flags: ['interval'],
            elem: [{ concat: ['qbr-vm', { prefix: { addr: '10.7.0.0', len: 24 } }] }],
          },
        },
      ],
    });
    const sets = elementsOfListing(json);
    assert.deepEqual(sets.get('ip convergent fwd'), elementsOf(ONE));
    assert.deepEqual(sets.get('ip convergent tags'), elementsOf([{ key: [mark(1)] }, { key: [mark(255)] }]));
    assert.deepEqual(
      sets.get('bridge convergent_ports from_guest'),
      elementsOf([{ key: [ifname('tap7')], value: [{ type: 'verdict', value: 'antispoof' }] }]),
    );
    assert.deepEqual(
      sets.get('ip convergent direct'),
      elementsOf([{ key: [ifname('qbr-vm'), v4('10.7.0.0/24')] }]),
    );
  });
});

describe('the element delta', () => {
  test('a changed value is the old element added back, deleted, and the new one added', () => {
    const was = plannedSets(tree(ONE));
    const deltas = elementDelta(plannedSets(tree(TWO)), (id) => was[id]?.elements);
    assert.deepEqual(deltaLines(deltas), [
      'add element ip convergent fwd { tcp . 2201 comment "forwards tcp/2201" : 10.0.0.1 . 22 }',
      'delete element ip convergent fwd { tcp . 2201 }',
      'add element ip convergent fwd { tcp . 2201 comment "forwards tcp/2201" : 10.0.0.2 . 22, tcp . 2300 comment "forwards tcp/2300" : 10.0.0.1 . 22 }',
    ]);
    assert.deepEqual(
      elementDelta(plannedSets(tree(ONE)), (id) => was[id]?.elements),
      [],
    );
    // The same from elements by key (the live ones, as diff reads them).
    const live = (id: string) => (id === 'ip convergent fwd' ? elementsOf(ONE) : new Map());
    assert.deepEqual(deltaLines(elementDelta(plannedSets(tree(TWO)), live)), deltaLines(deltas));
  });

  test("a rendered block's elements by key, whatever their comment or value", () => {
    const block =
      '\t\t\ttcp . 2201 comment "a : b" : 10.0.0.1 . 22,\n\t\t\t"tap1" : jump antispoof,\n\t\t\t10.0.0.0/24,';
    assert.deepEqual([...blockElements(block).keys()], ['tcp . 2201', '"tap1"', '10.0.0.0/24']);
  });

  test('structure: elements and notes do not count, a rule does', () => {
    const noted = tree(ONE);
    const withNotes: Ruleset = {
      tables: noted.tables.map((t) => ({ ...t, sets: t.sets.map((s) => ({ ...s, notes: ['why'] })) })),
    };
    assert.deepEqual(structureChanges(structureOf(tree(TWO)), withNotes), []);
    assert.deepEqual(structureChanges(structureOf(tree(ONE)), tree(ONE, 'notrack')), [
      '~ table ip convergent',
    ]);
    assert.deepEqual(structureChanges(structureOf(tree(ONE)), { tables: [] }), ['- table ip convergent']);
  });
});

describe('the replace transaction', () => {
  test('stale convergent tables deleted, a saved listing recreated, kept elements added after', () => {
    const live = liveTablesOf(listing(0));
    const plan = { kind: 'plan', ruleset: { tables: [] }, text: '# nothing' } as const;
    assert.equal(replaceText(plan, live, []), 'delete table ip convergent\n# nothing\n');
    const saved = {
      kind: 'saved',
      tables: [{ family: 'ip', name: 'convergent' }],
      text: 'table ip convergent {\n}',
    } as const;
    assert.equal(
      replaceText(saved, [], ['add element ip convergent plugged { "tap1" }']),
      'table ip convergent\ndelete table ip convergent\ntable ip convergent {\n}\nadd element ip convergent plugged { "tap1" }\n',
    );
  });
});

/** A fake host: nft lists `terse`, lists the plugged set with `tap1`, and checks deltas as `check` says. */
function fakeHost(terse: string, check: RunResult = { code: 0, stdout: '', stderr: '' }) {
  const calls: string[] = [];
  const run = (argv: readonly string[]): RunResult => {
    calls.push(argv.join(' '));
    const said = (stdout: string) => ({ code: 0, stdout, stderr: '' });
    if (argv.join(' ') === 'nft -j -t list ruleset') return said(terse);
    if (argv.join(' ') === 'nft -c -f -') return check;
    if (argv.join(' ') === 'nft -j list set ip convergent plugged')
      return said(
        JSON.stringify({
          nftables: [
            { set: { family: 'ip', table: 'convergent', name: 'plugged', type: 'ifname', elem: ['tap1'] } },
          ],
        }),
      );
    return { code: 1, stdout: '', stderr: `unexpected ${argv.join(' ')}` };
  };
  return { calls, run };
}

const desired = (ruleset: Ruleset) =>
  ({ nft: { kind: 'plan', ruleset, text: 'TEXT' } }) as unknown as Desired;

describe('the part chooses element changes or a replace', () => {
  const part = nftPart();
  let n = 0;
  const io = (run: ReturnType<typeof fakeHost>['run']) => ({
    run,
    root: '/',
    stateDir: join(scratch, `s${++n}`),
  });

  test('no record: a replace that keeps the plugged taps', () => {
    const host = fakeHost(listing(0));
    const where = io(host.run);
    const [change] = part.changes(where, part.read(where), desired(tree(ONE)));
    assert.equal(change?.action, 'change');
    assert.match(change?.detail ?? '', /no record/);
    assert.equal(change?.commands[0]?.input, 'TEXT\nadd element ip convergent plugged { "tap1" }\n');
  });

  test('the record matches: nothing, elements only, or a replace when nft refuses the delta or on drift', () => {
    const host = fakeHost(listing(7));
    const where = io(host.run);
    const plan = { structure: structureOf(tree(ONE)), sets: plannedSets(tree(ONE)) };
    writeNftRecord(where.stateDir, { plan, tables: liveTablesOf(listing(0)) });
    assert.deepEqual(part.changes(where, part.read(where), desired(tree(ONE))), []);
    const [delta] = part.changes(where, part.read(where), desired(tree(TWO)));
    assert.match(delta?.what ?? '', /^elements of table ip convergent$/);
    assert.match(delta?.commands[0]?.input ?? '', /^add element .*\ndelete element .*\nadd element .*\n$/);
    assert.ok(!host.calls.some((c) => c.startsWith('nft -j list')), 'no element was listed');

    const refusing = fakeHost(listing(7), { code: 1, stdout: '', stderr: 'Error: File exists' });
    const there = { ...where, run: refusing.run };
    const [replace] = part.changes(there, part.read(there), desired(tree(TWO)));
    assert.match(replace?.detail ?? '', /nft refuses the element change \(Error: File exists\)/);

    const drifted = fakeHost(listing(0, true));
    const here = { ...where, run: drifted.run };
    const [drift] = part.changes(here, part.read(here), desired(tree(TWO)));
    assert.match(drift?.detail ?? '', /changed on the host since the last apply: ~ table ip convergent/);
  });
});
