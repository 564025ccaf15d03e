// Bad paths as a user types them: --out where no files can go, a spec that is a directory, missing,
// unreadable or binary. Each is one error with the path and a fix: no stack trace, no hang (every run
// has a timeout, so a hang fails the test instead of stalling it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, type TestContext, test } from 'node:test';
import { MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'convergent-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const DROP = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
/** Root drops to nobody for permission tests, when nobody can read this checkout. */
const canDrop = !isRoot || spawnSync(DROP[0] as string, [...DROP.slice(1), 'test', '-r', MAIN]).status === 0;

/** The CLI as a user runs it; `unprivileged` drops root (permission bits do not stop root). */
function convergent(args: string[], unprivileged = false, wrap: string[] = []) {
  const node = [process.execPath, '--import', 'tsx', MAIN, ...args];
  const argv = [...wrap, ...(unprivileged && isRoot ? DROP : []), ...node];
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  assert.equal(r.signal, null, `convergent ${args.join(' ')} did not end: ${r.error?.message ?? ''}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One error and its fix on stderr, nothing of Node's. */
function assertOneError(stderr: string, error: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.match(lines[0] as string, error);
  assert.match(lines[1] as string, /^ {2}fix: \S/);
  assert.doesNotMatch(stderr, /node:fs|\n\s+at |Error: E[A-Z]+/);
}

const spec = join(tmp, 'part4.yaml');
copyFileSync(join(EXAMPLES_DIR, 'part4-stateless.yaml'), spec);

/** A test this machine cannot run: skipped, but under CI=true it fails, so a green CI means it ran. */
function cannotRun(t: TestContext, why: string): void {
  if (process.env.CI === 'true') throw new Error(`CI=true, so this test must run: ${why}`);
  t.skip(why);
}

describe('render --out: refused or a one-line error, before anything is written', () => {
  test('under /proc and /sys it is refused at once (Node looped forever under /proc)', () => {
    for (const out of ['/proc/nope', '/sys/nope/out']) {
      const r = convergent(['render', spec, '--out', out]);
      assert.equal(r.code, 2, r.stderr);
      assertOneError(r.stderr, new RegExp(`^convergent: --out ${out}: /(proc|sys) is the kernel's`));
      assert.equal(existsSync(out), false);
    }
  });

  test('a kernel file system under another name is known by its type (statfs), not its path', () => {
    const link = join(tmp, 'kernel');
    symlinkSync('/proc', link);
    const r = convergent(['render', spec, '--out', join(link, 'out')]);
    assert.equal(r.code, 2, r.stderr);
    assertOneError(
      r.stderr,
      new RegExp(
        `^convergent: --out ${link}/out: ${link} is on proc, a kernel file system that holds no files$`,
      ),
    );
  });

  test('a file, and a path below a file', () => {
    const file = join(tmp, 'afile');
    writeFileSync(file, 'x');
    let r = convergent(['render', spec, '--out', file]);
    assert.equal(r.code, 2, r.stderr);
    assertOneError(r.stderr, new RegExp(`^convergent: --out ${file} is a file, not a directory$`));
    r = convergent(['render', spec, '--out', join(file, 'sub', 'dir')]);
    assert.equal(r.code, 2, r.stderr);
    assertOneError(
      r.stderr,
      new RegExp(`^convergent: --out ${file}/sub/dir is below ${file}, which is a file`),
    );
  });

  test('a directory the user may not write in', (t) => {
    if (!canDrop) return cannotRun(t, 'as root, and user nobody cannot read this checkout');
    // Readable by the unprivileged user, writable by nobody.
    const dir = mkdtempSync(join(tmp, 'ro-'));
    chmodSync(tmp, 0o755);
    chmodSync(spec, 0o644);
    chmodSync(dir, 0o555);
    const r = convergent(['render', spec, '--out', join(dir, 'out')], true);
    assert.equal(r.code, 2, r.stderr);
    assertOneError(
      r.stderr,
      new RegExp(`^convergent: --out ${dir}/out: cannot write ${dir}: permission denied$`),
    );
  });
});

describe('render --out on a read-only file system (as root: a read-only tmpfs in a mount namespace)', () => {
  test('is refused before anything is written', (t) => {
    if (!isRoot)
      return t.skip('mounting needs root; the permission test above covers an unwritable directory');
    const dir = mkdtempSync(join(tmp, 'rofs-'));
    // The mount lives in a private mount namespace and ends with the command.
    const mount = `mount -t tmpfs -o ro none ${dir} && exec "$@"`;
    const wrap = [...'unshare --mount --propagation private sh -c'.split(' '), mount, 'sh'];
    const r = convergent(['render', spec, '--out', join(dir, 'out')], false, wrap);
    assert.equal(r.code, 2, r.stderr);
    assertOneError(
      r.stderr,
      new RegExp(`^convergent: --out ${dir}/out: cannot write ${dir}: a read-only file system$`),
    );
  });
});

describe('reading the spec: what is wrong, in words, with a fix', () => {
  test('a directory names the YAML files in it', () => {
    const dir = join(tmp, 'specs');
    mkdirSync(dir);
    copyFileSync(spec, join(dir, 'a.yaml'));
    const r = convergent(['check', dir]);
    assert.equal(r.code, 1);
    assertOneError(r.stderr, new RegExp(`^${dir}:1:1: error: this is a directory, not a spec file$`));
    assert.match(r.stderr, new RegExp(`fix: name a spec file in it: ${dir}/a\\.yaml`));
  });

  test('no such file, and a path below a file', () => {
    let r = convergent(['check', join(tmp, 'none.yaml')]);
    assert.equal(r.code, 1);
    assertOneError(r.stderr, /none\.yaml:1:1: error: no such file$/);
    r = convergent(['check', join(spec, 'x.yaml')]);
    assert.equal(r.code, 1);
    assertOneError(
      r.stderr,
      /x\.yaml:1:1: error: no such file: a part of the path is a file, not a directory$/,
    );
  });

  test('a file the user may not read', (t) => {
    if (!canDrop) return cannotRun(t, 'as root, and user nobody cannot read this checkout');
    const secret = join(tmp, 'secret.yaml');
    copyFileSync(spec, secret);
    chmodSync(tmp, 0o755);
    // No read bit for anyone: root's copy is not nobody's, and a user's own copy is not readable either.
    chmodSync(secret, 0o000);
    const r = convergent(['check', secret], true);
    assert.equal(r.code, 1);
    assertOneError(r.stderr, /secret\.yaml:1:1: error: permission denied$/);
  });

  test('a binary file is one error, not a page of YAML errors', () => {
    const binary = join(tmp, 'binary');
    // An ELF header, then bytes that are not UTF-8.
    writeFileSync(
      binary,
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Array(4000).fill(0xff), 0x3a, 0x0a]),
    );
    const r = convergent(['check', binary]);
    assert.equal(r.code, 1);
    assertOneError(r.stderr, /binary:1:1: error: this is not a YAML text file: it is not UTF-8 text/);
    assert.equal(r.stderr.split('\n').length, 4, r.stderr);
  });

  test('raw control characters are one error at the first, named, never echoed', () => {
    const nul = join(tmp, 'nul.yaml');
    writeFileSync(nul, 'name: t\nuplink:\n  sub\u0000net: 10.0.0.0/8\n  \u001b[2J: x\n');
    const r = convergent(['check', nul]);
    assert.equal(r.code, 1);
    assertOneError(
      r.stderr,
      /nul\.yaml:3:6: error: this is not a YAML text file: it contains control characters \(U\+0000 here, 2 in all\)$/,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
    assert.doesNotMatch(r.stderr, /[\u0000\u001b]/);
  });
});

describe('output to a reader that stops early', () => {
  test('cgnat export | head -1 ends quietly, as cat would (128 + SIGPIPE), without a stack trace', () => {
    // 66,048 subscribers: 2.8 MB of CSV, far more than a pipe holds when head has gone.
    const big = join(tmp, 'big.yaml');
    writeFileSync(
      big,
      readFileSync(join(EXAMPLES_DIR, 'cgnat-carrier.yaml'), 'utf8')
        .replace('pool: [203.0.113.10, 203.0.113.11]', 'pool: [203.0.113.0/25]')
        .replace('subscribers: [100.64.0.0/22]', 'subscribers: [100.64.0.0/16]'),
    );
    const line = `${process.execPath} --import tsx ${MAIN} cgnat export ${big} | head -1; echo "status \${PIPESTATUS[0]}" >&2`;
    const r = spawnSync('bash', ['-c', line], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null);
    assert.equal(r.stdout, 'tenant,subscriber,public,first_port,last_port\n');
    assert.equal(r.stderr, 'status 141\n');
  });
});
