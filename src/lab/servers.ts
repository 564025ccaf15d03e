// Processes the lab starts in its namespaces and waits for: the check servers (server.py) and any
// daemon that must listen on a port before the checks run.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from './agent.ts';
import { LabError } from './errors.ts';
import { paced, seconds } from './pace.ts';
import { type Runner, runChecked } from './run.ts';

/**
 * Starts the lab's server.py as `host` in namespace `ns`, detached (it outlives `lab up`), its stderr
 * in <logs>/<host>.log. The result waits until it listens; the wait and its timeout begin only when
 * called, so a build can start its servers first and do other work meanwhile.
 */
export function startServer(
  ns: string,
  host: string,
  args: readonly string[],
  logs: string,
  track: (pid: number) => void,
): () => Promise<void> {
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${host}.log`);
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, PYTHON, join(AGENT_DIR, 'server.py'), '--name', host, ...args],
    {
      detached: true,
      stdio: ['ignore', 'pipe', openSync(log, 'a')],
    },
  );
  if (child.pid !== undefined) track(child.pid);
  let out = '';
  let exited: number | null | undefined;
  let watch = () => {};
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    watch();
  });
  child.on('exit', (code) => {
    exited = code;
    watch();
  });
  const limit = paced(15_000);
  return () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LabError(`the server on ${host} did not start within ${seconds(limit)}`)),
        limit,
      );
      timer.unref(); // a failed start must not hold the process open for the others' timers
      watch = () => {
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          child.stdout?.destroy();
          child.unref();
          resolve();
        } else if (exited !== undefined) {
          clearTimeout(timer);
          reject(new LabError(`the server on ${host} exited (${exited}); see ${log}`));
        }
      };
      watch();
    });
}

/**
 * Starts a daemon (`argv`, which enters the namespace itself) in the foreground, so that its PID is
 * the daemon's and the lab can stop it; detached, its output appended to `log`. Returns the PID.
 */
export function startDaemon(argv: readonly string[], log: string, what: string): number {
  const [command, ...args] = argv;
  const out = openSync(log, 'a');
  const child = spawn(command ?? '', args, { detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new LabError(`${what} did not start`);
  child.unref();
  return child.pid;
}

/** Waits until something in namespace `ns` listens on TCP `bind` ("address:port"); `logs` for the refusal. */
export async function waitListening(
  runner: Runner,
  ns: string,
  bind: string,
  what: string,
  logs: string,
): Promise<void> {
  const limit = paced(10_000);
  const deadline = Date.now() + limit;
  const port = bind.slice(bind.lastIndexOf(':') + 1);
  while (Date.now() < deadline) {
    // ss -N enters the namespace itself: one process start less than through `ip netns exec`.
    if (runChecked(runner, ['ss', '-N', ns, '-Hltn', `sport = :${port}`]).trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new LabError(`${what} does not listen on ${bind} after ${seconds(limit)}; see ${logs}`);
}
