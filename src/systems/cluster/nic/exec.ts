// Execs for `nic up|down`: the CLI's runs on this host, the lab's (execWith and `on`) in a node's namespace.
import { spawnSync } from 'node:child_process';
import { type Runner, realRunner } from '../../../lab/run.ts';
import type { Exec } from './refused.ts';

/** `on` puts the node in front of the command, e.g. (argv) => ['ip', 'netns', 'exec', ns, ...argv]. */
export function execWith(
  runner: Runner = realRunner,
  on: (argv: readonly string[]) => readonly string[] = (a) => a,
): Exec {
  return (argv, stdin) => {
    const r = runner(on(argv), stdin === undefined ? {} : { input: stdin });
    return { status: r.code, stdout: r.stdout, stderr: r.stderr };
  };
}

/**
 * Commands on this host, for the CLI. The listing of a node's guest-ports table is 100 bytes per
 * element (10,000 guests: 5 MB of JSON), beyond spawnSync's default 1 MB buffer.
 */
export const hostExec: Exec = (argv, stdin) => {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { input: stdin, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) return { status: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
};
