// Running kernel tools (ip, nft, sysctl). One seam, so that tests of our own logic can use a fake.
import { spawn, spawnSync } from 'node:child_process';
import { noteInterrupt } from './interrupt.ts';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The runner killed it when its timeout ran out (the async runner). */
  readonly timedOut?: boolean;
  /** The signal that ended it, when one did. */
  readonly signal?: string;
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
    // A listing of a large node's sets (nft -j list table: 20,000 forwards are 3 MB) is more than
    // spawnSync's default 1 MB.
    maxBuffer: 1 << 30,
  });
  // Ctrl-C killed it along with us (perhaps before it read its input: EPIPE): the step fails now,
  // before our own handler has its turn. A timeout's SIGTERM is ours.
  if ((r.error as NodeJS.ErrnoException | undefined)?.code !== 'ETIMEDOUT') noteInterrupt(r.signal);
  if (r.error) return { code: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
};

/** Runs and throws with the command and its stderr when it fails. */
export function runChecked(runner: Runner, argv: readonly string[], options?: RunOptions): string {
  const r = runner(argv, options);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The same seam without blocking: the lab runs many clients at once. */
export type AsyncRunner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

export const realAsyncRunner: AsyncRunner = (argv, options = {}) =>
  new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const input = options.input;
    const child = spawn(cmd as string, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${cmd}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      noteInterrupt(signal);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout,
        stderr,
        ...(timedOut ? { timedOut } : {}),
        ...(signal ? { signal } : {}),
      });
    });
    // A child that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });

/** Maps with at most `limit` calls in flight, keeping the order of the input. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
