// A host for `convergent apply` in scratch namespaces (test/lab/apply-cli.test.ts): a bare node holding
// only its ports eth0 and eth1.100 (veths: this kernel has no dummy nor VLAN devices) and a foreign
// inet table; eth0's other end is the upstream router (192.168.122.1), eth1.100's is node2 on the
// guest network (10.5.5.252, node2's guest-bridge MAC), so the node's health checks can pass.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAUSE_ENV } from '../../src/apply/engine.ts';
import { readJournal } from '../../src/apply/state.ts';
import type { NamespaceRun } from '../../src/lab/netns.ts';
import { type CliResult, MAIN } from './cli.ts';
import { EXAMPLES_DIR } from './examples.ts';

export const PART4 = join(EXAMPLES_DIR, 'part4-stateless.yaml');

const FOREIGN = `table inet foreign {
  chain input { type filter hook input priority 10; policy accept; tcp dport 9999 counter accept; }
}
`;

export interface Rig {
  readonly ns: string;
  readonly dir: string;
  readonly state: string;
  readonly root: string;
  sh(argv: string[], input?: string): string;
  /** The CLI in the node's namespace with --state and --root of the rig. */
  cli(args: string[], env?: Record<string, string>): CliResult;
  /** The same, not waited for (to be killed). */
  start(args: string[], env?: Record<string, string>): ChildProcess;
  /** A variant of part4 written beside the state: `edit` changes its text. */
  spec(name: string, edit: (text: string) => string): string;
}

export function rig(run: NamespaceRun): Rig {
  const ns = run.add('node');
  const up = run.add('up');
  const peer = run.add('peer');
  const dir = mkdtempSync(join(tmpdir(), 'convergent-apply-'));
  run.removesDir(dir);
  const sh = (argv: string[], input?: string) => {
    const r = run.exec(ns, argv, input);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ok = (n: string, argv: string[]) => assert.equal(run.exec(n, argv).code, 0, argv.join(' '));
  // No IPv6 (part4 has none): the kernel's link-local addresses would change under the dumps (DAD).
  sh(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  sh(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', up]);
  sh(['ip', 'link', 'add', 'eth1.100', 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer]);
  ok(up, ['ip', 'addr', 'add', '192.168.122.1/24', 'dev', 'up0']);
  ok(up, ['ip', 'link', 'set', 'up0', 'up']);
  ok(peer, ['ip', 'link', 'set', 'p0', 'address', '0a:02:00:00:00:01', 'up']);
  ok(peer, ['ip', 'addr', 'add', '10.5.5.252/24', 'dev', 'p0']);
  sh(['nft', '-f', '-'], FOREIGN);
  const state = join(dir, 'state');
  const root = join(dir, 'root');
  const argvOf = (args: string[]) => [
    'netns',
    'exec',
    ns,
    process.execPath,
    '--import',
    'tsx',
    MAIN,
    ...args,
    ...(args.includes('--confirm') ? [] : ['--root', root]),
    '--state',
    state,
  ];
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, NO_COLOR: '1', ...extra });
  // Whatever watchdog an apply of this rig left: ended with the run (only ours, by the journal's pid).
  run.atCleanup(() => endWatchdogOf(state));
  return {
    ns,
    dir,
    state,
    root,
    sh,
    cli: (args, extra) => {
      const r = spawnSync('ip', argvOf(args), { encoding: 'utf8', env: env(extra) });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
    },
    start: (args, extra) => spawn('ip', argvOf(args), { env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] }),
    spec: (name, edit) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, edit(readFileSync(PART4, 'utf8')));
      return file;
    },
  };
}

/** The rig's watchdog, when one is still there: its pid is in the journal, its cmdline names our state dir. */
export function endWatchdogOf(state: string): void {
  const pid = existsSync(join(state, 'journal.json')) ? readJournal(state)?.watchdog : undefined;
  if (pid !== undefined && watchdogAlive(pid, state)) process.kill(pid, 'SIGKILL');
}

export function watchdogAlive(pid: number, state: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(state);
  } catch {
    return false;
  }
}

/** A link as apply makes it: what the kernel moves by itself (counters, timers, carrier state) left out. */
function linkOf(l: Record<string, unknown>): Record<string, unknown> {
  const info = (l.linkinfo ?? {}) as Record<string, Record<string, unknown> | string | undefined>;
  const steady = (data: unknown) =>
    Object.fromEntries(
      Object.entries((data ?? {}) as Record<string, unknown>).filter(
        ([k]) => !/timer|_id$|root_port|root_path|^hello|^tcn|^topology|^state$/.test(k),
      ),
    );
  const { operstate: _o, linkinfo: _i, flags, ...rest } = l;
  // Carrier comes a moment after a port joins a bridge: the kernel's, not apply's.
  const set = (flags as string[]).filter((f) => f !== 'NO-CARRIER' && f !== 'LOWER_UP');
  return {
    ...rest,
    flags: set,
    kind: info.info_kind,
    data: steady(info.info_data),
    port: steady(info.info_slave_data),
  };
}

/** What the node has: links, addresses, routes, rules (ip -j) and the ruleset without counters. */
export function dump(r: Rig): Record<string, unknown> {
  const j = (argv: string[]) => JSON.parse(r.sh(argv)) as Record<string, unknown>[];
  return {
    links: j(['ip', '-j', '-d', 'link', 'show']).map(linkOf),
    addresses: j(['ip', '-j', 'address', 'show']).map((a) => ({ ifname: a.ifname, addr_info: a.addr_info })),
    // A route's linkdown is its bridge's carrier, as above.
    routes: j(['ip', '-j', 'route', 'show', 'table', 'all']).map((x) => ({
      ...x,
      flags: ((x.flags ?? []) as string[]).filter((f) => f !== 'linkdown'),
    })),
    rules: j(['ip', '-j', 'rule', 'show']),
    ruleset: r.sh(['nft', '-s', 'list', 'ruleset']),
  };
}

/** Waits for `ready` (polled every 100 ms) for at most `ms`. */
export async function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts an apply paused at `point` (CONVERGENT_TEST_PAUSE) and sends it `signal` there; its output
 * and exit status once it ended (a SIGTERM is handled when a pause of `pauseMs` ends).
 */
export async function killAt(
  r: Rig,
  point: string,
  args: string[],
  signal: NodeJS.Signals = 'SIGKILL',
  pauseMs = 60_000,
): Promise<{ out: string; code: number | null }> {
  const child = r.start(args, { [PAUSE_ENV]: point, [`${PAUSE_ENV}_MS`]: String(pauseMs) });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
  await until(
    () => out.includes(`paused at ${point}`) || child.exitCode !== null,
    60_000,
    `apply at ${point}`,
  );
  assert.ok(out.includes(`paused at ${point}`), `apply never paused at ${point}: ${out}`);
  child.kill(signal);
  const code = await ended;
  return { out, code };
}

export const cleanState = (r: Rig) => rmSync(r.state, { recursive: true, force: true });
