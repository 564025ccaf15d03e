// diff, apply and rollback as a user mistypes them: a usage error (exit 2) with a fix, before
// anything is read of the host, and never a stack trace. The host itself: test/lab/apply-cli.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const part4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');
const cgnat = join(EXAMPLES_DIR, 'cgnat-demo.yaml');

const usage = (args: string[], message: RegExp) => {
  const r = convergent(...args);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  assert.equal(r.stdout, '');
};

describe('apply cli: usage', () => {
  test('apply needs a spec and --node; --confirm takes neither', () => {
    usage(
      ['apply'],
      /^convergent: apply needs a spec and the node\n {2}fix: convergent apply FILE --node NODE\n$/,
    );
    usage(['apply', part4], /apply needs a spec and the node/);
    usage(['apply', '--confirm', part4], /^convergent: --confirm takes no spec nor --node\n/);
  });

  test('a confirm window that is not a time', () => {
    usage(
      ['apply', part4, '--node', 'node1', '--confirm-within', '1h'],
      /--confirm-within "1h" is not a time\n {2}fix: give seconds or minutes: 60s, 2m/,
    );
  });

  test('a node the spec has not, and a CGNAT spec, are refused with what to do', () => {
    usage(['diff', part4, '--node', 'node9'], /no node "node9" in .*; nodes: node1, node2\n {2}fix: /);
    usage(
      ['apply', cgnat, '--node', 'main'],
      /apply supports cluster specs; a CGNAT router is loaded from its rendered files\n {2}fix: convergent render FILE --out DIR, then on the router: nft -f/,
    );
  });

  test("the watchdog's form needs both --at and --id", () => {
    usage(['rollback', '--at', 'soon'], /--at and --id go together/);
  });

  test('an invalid spec is located, exit 1, before the host is asked anything', () => {
    const r = convergent('diff', join(EXAMPLES_DIR, 'missing.yaml'), '--node', 'node1');
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });
});
