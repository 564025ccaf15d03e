// Colour follows the stream it is written to: problems go to stderr, so stderr's terminal decides,
// not stdout's. Run under script(1) for a real pty on one stream and a file on the other.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { colorFor } from '../../src/cli/color.ts';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'convergent-color-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is looked for
const ANSI = /\u001b\[/;

const bad = join(tmp, 'bad.yaml');
writeFileSync(
  bad,
  readFileSync(join(EXAMPLES_DIR, 'part4-stateless.yaml'), 'utf8').replace('to: guest2', 'to: nobody'),
);

/** `check bad.yaml` in a pty (script -c), with one stream redirected as the shell line says. */
function inPty(redirect: string, env: Record<string, string> = {}): string {
  const { NO_COLOR, FORCE_COLOR, CI, ...rest } = process.env;
  const line = `${process.execPath} --import tsx ${MAIN} check ${bad} ${redirect}`;
  const r = spawnSync('script', ['-qec', line, '/dev/null'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...rest, TERM: 'xterm', ...env },
  });
  assert.equal(r.signal, null, 'script did not end');
  return r.stdout;
}

describe('colour per stream', () => {
  test('stderr to a file while stdout is a terminal: no escape codes in the file', () => {
    const file = join(tmp, 'errors.txt');
    inPty(`2>${file}`);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /error: forward to unknown guest "nobody"/);
    assert.doesNotMatch(text, ANSI);
  });

  test('stdout to /dev/null while stderr is a terminal: the problems are coloured', () => {
    const text = inPty('>/dev/null');
    assert.match(text, /error/);
    assert.match(text, ANSI);
  });

  test('NO_COLOR and FORCE_COLOR decide as before', () => {
    assert.doesNotMatch(inPty('>/dev/null', { NO_COLOR: '1' }), ANSI);
    const file = join(tmp, 'forced.txt');
    inPty(`2>${file}`, { FORCE_COLOR: '1' });
    assert.match(readFileSync(file, 'utf8'), ANSI);
  });

  test('the decision takes the stream it is asked about', () => {
    const tty = { isTTY: true };
    const file = { isTTY: false };
    assert.equal(colorFor(tty, { TERM: 'xterm' }, []), true);
    assert.equal(colorFor(file, { TERM: 'xterm' }, []), false);
    assert.equal(colorFor(tty, { TERM: 'dumb' }, []), false);
    assert.equal(colorFor(tty, { NO_COLOR: '1' }, []), false);
    assert.equal(colorFor(file, { FORCE_COLOR: '1' }, []), true);
    assert.equal(colorFor(tty, {}, ['--no-color']), false);
  });
});
