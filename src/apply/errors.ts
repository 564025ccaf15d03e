// apply's own errors: what the host lacks (root, a tool) and an apply that could not finish nor be
// undone. The CLI prints the message and the fix alone, never a stack.
import { REQUIREMENTS } from '../lab/preflight.ts';
import type { RunResult } from '../lab/run.ts';

export class ApplyError extends Error {
  override name = 'ApplyError';
  /** needs: the host lacks something (root, a tool); failed: a change and its rollback failed. */
  readonly kind: 'needs' | 'failed';
  readonly fix: string | undefined;
  constructor(kind: 'needs' | 'failed', message: string, fix?: string) {
    super(message);
    this.kind = kind;
    this.fix = fix;
  }
}

/** A command whose program is not installed, named with its Debian package; undefined otherwise. */
export function missingTool(argv: readonly string[], r: RunResult): ApplyError | undefined {
  // Directly (spawn's ENOENT), or through `ip netns exec` (the lab's runner).
  const direct = r.code === 127 && /ENOENT/.test(r.stderr);
  const netns = /exec of "([^"]+)" failed: No such file/.exec(r.stderr);
  if (!direct && !netns) return undefined;
  const tool = netns?.[1] ?? argv[0] ?? '';
  const pkg = (REQUIREMENTS as Record<string, { package: string } | undefined>)[tool]?.package;
  return new ApplyError(
    'needs',
    `${tool} is not installed on this host`,
    pkg ? `apt-get install ${pkg}` : `install ${tool}`,
  );
}
