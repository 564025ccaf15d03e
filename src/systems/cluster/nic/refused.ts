// What `nic up|down` and the lab's plugging share: how a command runs on the node, and a refusal.

/** The result of one command run on the node. */
export interface ExecResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command ON THE NODE: the CLI runs it here, the lab in the node's namespace. `stdin` is
 * written to the command's standard input (nft -f -).
 */
export type Exec = (argv: readonly string[], stdin?: string) => ExecResult;

/** A hook that must not plug (or unplug) a tap, and changed nothing: what is wrong and the fix. */
export class NicRefused extends Error {
  override name = 'NicRefused';
  readonly fix: string;
  constructor(message: string, fix: string) {
    super(message);
    this.fix = fix;
  }
}

/** A command that failed after the checks passed: the node is not as the checks saw it. */
export class NicFailed extends Error {
  override name = 'NicFailed';
}

/** Runs a command that must succeed; its failure names the command and what it said. */
export function runOrFail(exec: Exec, argv: readonly string[], stdin?: string): string {
  const r = exec(argv, stdin);
  if (r.status !== 0)
    throw new NicFailed(`${argv.join(' ')} failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
