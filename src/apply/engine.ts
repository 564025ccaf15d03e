// The engine of diff, apply and rollback: reads every part, orders their changes (links, addresses,
// routes, rules added, sysctls, nft, files; then rules, routes, addresses and links deleted), and
// runs them, journaled, stopping at the first command that fails. Whatever stops an apply (a failed
// command, an interrupt, a failed health check) rolls it back: an apply of the checkpoint taken
// before the first change, by the same code. Only a rollback that fails itself leaves a mix, named.
import { randomBytes } from 'node:crypto';
import { type Change, type Command, changeLine, PARTS, type PartName } from './change.ts';
import { emptyDesired, loadCheckpoint, mergeSnapshots, saveCheckpoint } from './checkpoint.ts';
import type { Desired } from './desired.ts';
import { ApplyError, missingTool } from './errors.ts';
import type { HostIO, Part } from './part.ts';
import { forgetRolledBack, noteRolledBack } from './rolled-back.ts';
import {
  clearJournal,
  type Journal,
  lock,
  readJournal,
  unlock,
  writeAppliedCommon,
  writeJournal,
} from './state.ts';

// biome-ignore lint/suspicious/noExplicitAny: each part reads its own Live; the engine only hands it back.
export type AnyPart = Part<any>;

/** A part and what it read of the host. */
export interface Reading {
  readonly part: AnyPart;
  readonly live: unknown;
}

/** What the CLI (or the lab, or a test) gives the engine. */
export interface Hooks {
  say(line: string): void;
  /** The signal that asked us to stop (SIGINT, SIGTERM), checked between commands. */
  interrupted(): string | undefined;
  /** Starts the watchdog of an apply awaiting confirmation; its pid. */
  startWatchdog?(id: string, deadline: Date): number;
  /** Ends an earlier watchdog, once it is known to be that apply's. */
  endWatchdog?(pid: number, id: string): void;
  /** The node's health checks before the changes: what fails already is not held against the apply. */
  healthBefore?(): void;
  /** The node's health checks after the changes: what failed, empty when all pass. */
  health?(): string[];
}

export type Outcome =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'applied'; readonly changes: number }
  | { readonly kind: 'awaiting'; readonly changes: number; readonly id: string; readonly deadline: Date }
  | { readonly kind: 'rolled-back'; readonly why: string }
  | { readonly kind: 'nothing-to-roll-back' };

/** The environment variable that pauses an apply at a point, for the tests that kill it there. */
export const PAUSE_ENV = 'CONVERGENT_TEST_PAUSE';

/**
 * Test-only: CONVERGENT_TEST_PAUSE=checkpoint|journal|change-N stops the apply there (a minute, or
 * CONVERGENT_TEST_PAUSE_MS), after saying so on stderr, so that a test can kill it at a known point
 * (test/lab/apply-cli.test.ts). A SIGTERM is handled once the pause ends.
 */
function pauseAt(point: string): void {
  if (process.env[PAUSE_ENV] !== point) return;
  process.stderr.write(`convergent: paused at ${point} (${PAUSE_ENV})\n`);
  const ms = Number(process.env[`${PAUSE_ENV}_MS`] ?? 60_000);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Deleted after nft and files, in reverse: no steering rule is ever without its nft pair. */
const DELETED_LAST: readonly PartName[] = ['rules', 'routes', 'addresses', 'links'];
const deletedLast = (c: Change) => c.action === 'delete' && DELETED_LAST.includes(c.part);

/** The engine's order; within a part the part's own (parents first, children first when deleting). */
export function ordered(changes: readonly Change[]): Change[] {
  const rank = (order: readonly PartName[]) => (a: Change, b: Change) =>
    order.indexOf(a.part) - order.indexOf(b.part);
  return [
    ...changes.filter((c) => !deletedLast(c)).sort(rank(PARTS)),
    ...changes.filter(deletedLast).sort(rank(DELETED_LAST)),
  ];
}

export const readParts = (io: HostIO, parts: readonly AnyPart[]): Reading[] =>
  parts.map((part) => ({ part, live: part.read(io) }));

/** Every change that makes the host `desired`, in the order they run. */
export const changesOf = (io: HostIO, readings: readonly Reading[], desired: Desired): Change[] =>
  ordered(readings.flatMap((r) => r.part.changes(io, r.live, desired)));

/** `convergent diff`: what apply would change. */
export const diff = (io: HostIO, parts: readonly AnyPart[], desired: Desired): Change[] =>
  changesOf(io, readParts(io, parts), desired);

/** A command that failed, and the change it belongs to. */
interface Failure {
  readonly change: Change;
  readonly command: Command;
  readonly why: string;
}

/** Runs the changes in order; the first failing command (or an interrupt) stops them. */
async function runChanges(
  io: HostIO,
  changes: readonly Change[],
  hooks: Hooks,
): Promise<Failure | string | undefined> {
  for (const [i, change] of changes.entries()) {
    pauseAt(`change-${i + 1}`);
    // Let the signal handlers run: the commands block the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const signal = hooks.interrupted();
    if (signal !== undefined) return `interrupted by ${signal}`;
    hooks.say(changeLine(change));
    for (const command of change.commands) {
      const r = io.run(command.argv, command.input === undefined ? {} : { input: command.input });
      if (r.code === 0) continue;
      const missing = missingTool(command.argv, r);
      if (missing) throw missing;
      return { change, command, why: `${command.argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}` };
    }
  }
  return undefined;
}

/** After a completed apply or rollback: each part's record, then whose state it is. */
function finish(io: HostIO, readings: readonly Reading[], desired: Desired): void {
  for (const r of readings) r.part.record(io, desired);
  writeAppliedCommon(io.stateDir, desired.cluster, desired.node);
}

/** Runs `work` holding the state dir's lock; another live holder is an error. */
async function locked<T>(io: HostIO, work: () => Promise<T>): Promise<T> {
  const holder = lock(io.stateDir);
  if (holder !== undefined)
    throw new ApplyError(
      'failed',
      `another convergent (pid ${holder}) is applying or rolling back with ${io.stateDir}`,
      'wait for it to end',
    );
  try {
    return await work();
  } finally {
    unlock(io.stateDir);
  }
}

export interface ApplyOptions {
  /** Await `apply --confirm` this long, or the watchdog rolls back. */
  readonly confirmWithinMs?: number;
}

export const apply = (
  io: HostIO,
  parts: readonly AnyPart[],
  desired: Desired,
  hooks: Hooks,
  options: ApplyOptions = {},
): Promise<Outcome> => locked(io, () => applyLocked(io, parts, desired, hooks, options));

async function applyLocked(
  io: HostIO,
  parts: readonly AnyPart[],
  desired: Desired,
  hooks: Hooks,
  options: ApplyOptions,
): Promise<Outcome> {
  const before = readJournal(io.stateDir);
  // A late `apply --confirm` speaks of this apply now, not of an earlier one rolled back.
  forgetRolledBack(io.stateDir);
  const readings = readParts(io, parts);
  const changes = changesOf(io, readings, desired);
  if (changes.length === 0 && before === undefined) {
    finish(io, readings, desired);
    return { kind: 'unchanged' };
  }
  // A journal left behind: the host may be a mix, and the checkpoint of the state before it stays.
  if (before === undefined) {
    const snapshots = readings.map((r) => r.part.snapshot(io, r.live, desired));
    saveCheckpoint(io.stateDir, mergeSnapshots(emptyDesired(desired.cluster, desired.node), snapshots));
  } else hooks.say(`completing the unfinished apply ${before.id} (${before.phase})`);
  pauseAt('checkpoint');
  if (options.confirmWithinMs !== undefined) hooks.healthBefore?.();
  const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const ms = options.confirmWithinMs;
  // The watchdog starts before the first change (it rolls back at once if apply dies); the window it
  // waits for starts once the health checks pass (the journal's deadline): `at` is only its fallback.
  const watchdog = ms === undefined ? undefined : hooks.startWatchdog?.(id, new Date(Date.now() + ms));
  const journal: Journal = {
    id,
    phase: 'applying',
    cluster: desired.cluster,
    node: desired.node,
    pid: process.pid,
    ...(watchdog ? { watchdog } : {}),
  };
  writeJournal(io.stateDir, journal);
  // Only now that the new journal replaced it: the old watchdog would leave on its own too.
  if (before?.watchdog !== undefined) hooks.endWatchdog?.(before.watchdog, before.id);
  pauseAt('journal');
  for (const r of readings) r.part.begin?.(io, r.live, desired);
  const failed = await runChanges(io, changes, hooks);
  if (failed !== undefined) return rollbackLocked(io, parts, hooks, whyOf(failed));
  finish(io, readings, desired);
  if (ms === undefined) {
    clearJournal(io.stateDir);
    return { kind: 'applied', changes: changes.length };
  }
  const sick = hooks.health?.() ?? [];
  if (sick.length > 0) return rollbackLocked(io, parts, hooks, `health check failed: ${sick.join('; ')}`);
  // The operator gets the whole window, from here.
  const deadline = new Date(Date.now() + ms);
  writeJournal(io.stateDir, { ...journal, phase: 'awaiting', deadline: deadline.toISOString() });
  return { kind: 'awaiting', changes: changes.length, id, deadline };
}

const whyOf = (f: Failure | string): string =>
  typeof f === 'string' ? f : `${changeLine(f.change)} failed: ${f.why}`;

/** Restores the checkpoint of the apply in the journal; nothing to do without one. */
export async function rollbackLocked(
  io: HostIO,
  parts: readonly AnyPart[],
  hooks: Hooks,
  why: string,
): Promise<Outcome> {
  const journal = readJournal(io.stateDir);
  if (journal === undefined) return { kind: 'nothing-to-roll-back' };
  hooks.say(`rolling back: ${why}`);
  const checkpoint = loadCheckpoint(io.stateDir);
  writeJournal(io.stateDir, { ...journal, phase: 'rolling-back', pid: process.pid });
  const readings = readParts(io, parts);
  const changes = changesOf(io, readings, checkpoint);
  // A rollback runs to its end: an interrupt now would leave the mix it removes.
  const failed = await runChanges(io, changes, { ...hooks, interrupted: () => undefined });
  if (failed !== undefined)
    throw new ApplyError(
      'failed',
      `the rollback stopped: ${whyOf(failed)}; the host is between the old state and the new`,
      'fix what the command says, then run `convergent rollback` again',
    );
  finish(io, readings, checkpoint);
  if (journal.watchdog !== undefined && journal.watchdog !== process.pid)
    hooks.endWatchdog?.(journal.watchdog, journal.id);
  noteRolledBack(io.stateDir, { id: journal.id, node: journal.node, time: new Date().toISOString(), why });
  clearJournal(io.stateDir);
  return { kind: 'rolled-back', why };
}

/** `convergent rollback`: the unfinished or unconfirmed apply undone. */
export const rollback = (
  io: HostIO,
  parts: readonly AnyPart[],
  hooks: Hooks,
  why = 'asked by `convergent rollback`',
): Promise<Outcome> => locked(io, () => rollbackLocked(io, parts, hooks, why));

/** `convergent apply --confirm`: the apply awaiting confirmation stays; its watchdog ends. */
export const confirm = (io: HostIO, hooks: Hooks): Promise<Journal | undefined> =>
  locked(io, async () => {
    const journal = readJournal(io.stateDir);
    if (journal?.phase !== 'awaiting') return journal;
    if (journal.watchdog !== undefined) hooks.endWatchdog?.(journal.watchdog, journal.id);
    clearJournal(io.stateDir);
    return journal;
  });
