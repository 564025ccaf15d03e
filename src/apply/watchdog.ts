// The watchdog of an apply awaiting confirmation: a detached `convergent rollback --at DEADLINE --id ID`
// in its own session, started before the first change, so that neither a SIGKILL of apply nor a
// closed ssh session ends it. It rolls back when the deadline passes without `apply --confirm`, or at
// once when the apply died mid-change; it ends by itself when the journal is confirmed or replaced.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AnyPart, type Hooks, type Outcome, PAUSE_ENV, rollbackLocked } from './engine.ts';
import type { HostIO } from './part.ts';
import { alive, type Journal, lock, readJournal, unlock } from './state.ts';

export const WATCHDOG_LOG = 'watchdog.log';

/** How this process runs convergent again: node, its flags (tsx from source), the script. */
export function selfArgv(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1] ?? ''];
}

/** Starts the watchdog for the apply `id`; its pid. Its output goes to the state dir's watchdog.log. */
export function startWatchdog(io: HostIO, self: readonly string[], id: string, deadline: Date): number {
  const [cmd, ...args] = self;
  const log = openSync(join(io.stateDir, WATCHDOG_LOG), 'a');
  const env = { ...process.env };
  delete env[PAUSE_ENV];
  const child = spawn(
    cmd as string,
    [
      ...args,
      'rollback',
      '--at',
      deadline.toISOString(),
      '--id',
      id,
      '--state',
      io.stateDir,
      '--root',
      io.root,
    ],
    { detached: true, stdio: ['ignore', log, log], env },
  );
  closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new Error(`the watchdog did not start: ${cmd}`);
  return child.pid;
}

/** The watchdog's argv, when `pid` is the watchdog of the apply `id` (a pid may have been reused). */
function isWatchdogOf(pid: number, id: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('rollback') && argv[argv.indexOf('--id') + 1] === id;
  } catch {
    return false;
  }
}

/** Ends the watchdog of the apply `id`, after checking that `pid` is it. */
export function endWatchdog(pid: number, id: string): void {
  if (!isWatchdogOf(pid, id)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why the watchdog rolls back now (its deadline passed, or the apply died mid-change); undefined: not yet. */
function dueNow(j: Journal, at: Date): string | undefined {
  // The window starts when the apply's health checks pass: the journal's deadline; `at` until then.
  const deadline = j.deadline === undefined ? at : new Date(j.deadline);
  if (Date.now() >= deadline.getTime())
    return `no \`convergent apply --confirm\` by ${deadline.toISOString()}`;
  if (j.phase !== 'awaiting' && !alive(j.pid)) return `the apply (pid ${j.pid}) died`;
  return undefined;
}

/**
 * The watchdog's life: until the journal is confirmed or replaced, roll back at the deadline, or at
 * once when the apply died while changing the host. An apply or a rollback at work (the lock) is
 * waited for. undefined: nothing to do any more.
 */
export async function watch(
  io: HostIO,
  parts: readonly AnyPart[],
  hooks: Hooks,
  id: string,
  at: Date,
): Promise<Outcome | undefined> {
  let seen = false;
  for (;;) {
    const j = readJournal(io.stateDir);
    const late = Date.now() >= at.getTime();
    // The apply writes its journal just after starting us: until then, wait for it.
    if (j?.id !== id) {
      if (seen || late) return undefined;
      await sleep(200);
      continue;
    }
    seen = true;
    if (dueNow(j, at) !== undefined && lock(io.stateDir) === undefined) {
      try {
        // Read again under the lock: the apply may have ended meanwhile, setting the window's deadline.
        const now = readJournal(io.stateDir);
        if (now?.id !== id) return undefined;
        const why = dueNow(now, at);
        if (why !== undefined) return await rollbackLocked(io, parts, hooks, why);
      } finally {
        unlock(io.stateDir);
      }
    }
    await sleep(200);
  }
}
