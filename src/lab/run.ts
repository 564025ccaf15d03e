// Running kernel tools (ip, nft, sysctl). One seam, so that tests of our own logic can use a fake.
import { spawnSync } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
}

export type Runner = (argv: readonly string[], options?: RunOptions) => RunResult;

export const realRunner: Runner = (argv, options = {}) => {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, {
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
  });
  if (r.error) return { code: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
};

/** Runs and throws with the command and its stderr when it fails. */
export function runChecked(runner: Runner, argv: readonly string[], options?: RunOptions): string {
  const r = runner(argv, options);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
