// The nft lint: each rule, with a broken tree built as a system would build it, fails at compile with
// an error that names the system, the part that added the object, and the object. Rootless.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlanBuilder } from '../../src/host/builder.ts';
import { RulesetBuilder, type TableBuilder } from '../../src/nft/builder.ts';
import { type LintRule, lintRuleset, NftLintError } from '../../src/nft/lint.ts';
import {
  counter,
  drop,
  ifname,
  inSet,
  ip,
  lookup,
  mark,
  meta,
  PRIORITY,
  service,
  v4,
} from '../../src/nft/tree.ts';

const filter = { type: 'filter', hook: 'forward', priority: PRIORITY.filter, policy: 'accept' } as const;

/** Builds one table under the part `proxy`, freezes it, and returns the error (at add or at freeze). */
function broken(build: (table: TableBuilder) => void): NftLintError {
  const nft = new RulesetBuilder('cluster demo, node node1');
  try {
    nft.by('proxy', () => build(nft.table('ip', 'convergent', 'test')));
    nft.freeze();
  } catch (err) {
    assert.ok(err instanceof NftLintError, String(err));
    return err;
  }
  assert.fail('the broken ruleset was accepted');
}

function sees(err: NftLintError, rule: LintRule, ...words: string[]): void {
  assert.equal(err.rule, rule, err.message);
  for (const w of [...words, 'cluster demo, node node1', '(proxy)'])
    assert.ok(err.message.includes(w), `${JSON.stringify(err.message)} names ${w}`);
}

const addresses = (table: TableBuilder) =>
  table.set({
    name: 'guests',
    comment: 'guest addresses',
    key: ['ipv4_addr'],
    interval: false,
    elements: [],
  });

describe('nft lint: each rule is a compile error naming the system, the feature and the object', () => {
  test('a chain defined twice', () => {
    const err = broken((t) => {
      t.chain('in', 'first', filter);
      t.chain('in', 'second');
    });
    sees(err, 'duplicate-name', 'chain in', 'defined twice');
  });

  test('a set defined twice', () => {
    const err = broken((t) => {
      addresses(t);
      addresses(t);
    });
    sees(err, 'duplicate-name', 'set guests', 'defined twice');
  });

  test('a jump to a missing chain', () => {
    const err = broken((t) => {
      t.chain('in', 'entry', filter);
      t.rule('in', 'to the proxy', { kind: 'jump', chain: 'proxy-in' });
    });
    sees(err, 'missing-chain', 'rule "to the proxy"', 'chain proxy-in', 'not defined');
  });

  test('a rule for a missing chain', () => {
    const err = broken((t) => t.rule('nowhere', 'lost rule', counter));
    sees(err, 'missing-chain', 'rule "lost rule"', 'chain nowhere');
  });

  test('a match on a missing set', () => {
    const err = broken((t) => {
      t.chain('in', 'entry', filter);
      t.rule('in', 'guests only', inSet(ip('saddr'), 'guests'), drop);
    });
    sees(err, 'missing-set', 'rule "guests only"', '@guests', 'not defined');
  });

  test('a lookup of a missing map', () => {
    const err = broken((t) => {
      t.chain('in', 'entry', filter);
      t.rule('in', 'mark by guest', {
        kind: 'set-field',
        field: meta('mark'),
        value: lookup(ip('saddr'), 'marks'),
      });
    });
    sees(err, 'missing-set', 'rule "mark by guest"', '@marks');
  });

  test('a set looked up as a map', () => {
    const err = broken((t) => {
      addresses(t);
      t.chain('in', 'entry', filter);
      t.rule('in', 'mark by guest', {
        kind: 'set-field',
        field: meta('mark'),
        value: lookup(ip('saddr'), 'guests'),
      });
    });
    sees(err, 'set-kind', '@guests', 'used as a map');
  });

  test("a verdict map's element jumping to a missing chain", () => {
    const err = broken((t) => {
      t.set({
        name: 'by_port',
        comment: 'port -> chain',
        key: ['inet_service'],
        value: ['verdict'],
        interval: false,
        elements: [{ key: [service(80)], value: [{ type: 'verdict', value: 'web' }], comment: 'proxies[0]' }],
      });
    });
    sees(err, 'missing-chain', 'map by_port', 'chain web', 'not defined');
  });

  test('a comment over 128 bytes', () => {
    const err = broken((t) => {
      t.chain('in', 'entry', filter);
      t.rule('in', `forwards[0]: ${'é'.repeat(60)}`, counter);
    });
    sees(err, 'comment', 'chain in', '133 bytes', "over nft's 128");
  });

  test('a name over 255 bytes', () => {
    const long = `c${'x'.repeat(255)}`;
    const err = broken((t) => t.chain(long, 'entry', filter));
    sees(err, 'name-too-long', `chain ${long}`, '256 bytes');
  });

  test('a device name over 15 bytes', () => {
    const err = broken((t) => {
      t.chain('in', 'entry', filter);
      t.rule('in', 'from the uplink', {
        kind: 'match',
        left: meta('iifname'),
        op: 'eq',
        right: { kind: 'const', value: ifname('uplink-very-long0') },
      });
    });
    sees(err, 'name-too-long', 'rule "from the uplink"', 'uplink-very-long0');
  });

  test('a map whose element does not match its declaration', () => {
    const err = broken((t) =>
      t.set({
        name: 'backends',
        comment: 'public port -> guest',
        key: ['inet_service'],
        value: ['ipv4_addr'],
        interval: false,
        elements: [{ key: [service(80)], value: [mark(1)], comment: 'proxies[0]' }],
      }),
    );
    sees(err, 'element-type', 'map backends', 'proxies[0]', 'value part 1 is mark, declared ipv4_addr');
  });

  test('a set element with a value', () => {
    const err = broken((t) =>
      t.set({
        name: 'guests',
        comment: 'guests',
        key: ['ipv4_addr'],
        interval: false,
        elements: [{ key: [v4('10.0.0.1')], value: [mark(1)] }],
      }),
    );
    sees(err, 'element-type', 'set guests', 'has a value');
  });

  test('a table defined twice, in a tree built by hand', () => {
    const table = { family: 'ip', name: 'convergent', comment: 'x', sets: [], chains: [] } as const;
    assert.throws(
      () => lintRuleset({ tables: [table, table] }, { system: 'CGNAT demo' }),
      (err: unknown) =>
        err instanceof NftLintError &&
        err.rule === 'duplicate-name' &&
        /CGNAT demo: table ip convergent/.test(err.message),
    );
  });

  test('a host plan is linted when it freezes, naming its feature', () => {
    const plan = new PlanBuilder('demo', 'node1');
    plan.by('ctsync', () => {
      const t = plan.table('ip', 'test');
      t.chain('in', 'entry', filter);
      t.rule('in', 'forwards[2]: to sync', { kind: 'goto', chain: 'sync' });
    });
    assert.throws(
      () => plan.freeze(),
      /cluster demo, node node1 \(ctsync\): rule "forwards\[2\]: to sync".*goto to chain sync/,
    );
  });
});
