// An Exec from the lab's runner: the CLI's runs here, the lab's (with `on`) in a node's namespace.
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
