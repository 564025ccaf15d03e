// Network namespaces owned by one run. Every name carries the run's prefix (cvg-<pid>-<random>-),
// so runs can sit side by side and leftovers of a crashed run can be found and removed.
// The run is undone when it ends: normally, on an exception, and on SIGINT/SIGTERM/SIGHUP; first the
// processes it started (by PID), then its namespaces, then whatever else it registered. An
// interrupted run says what it removed and exits 128 + the signal (interrupt.ts).
// keep() hands the namespaces over to a lab that outlives the process (`lab up`).
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { exitIfInterrupted, INTERRUPTS, interrupted, noteInterrupt, noteRemoved } from './interrupt.ts';
import { type Runner, realRunner, runChecked } from './run.ts';

export const NETNS_PREFIX = 'cvg-';

export class NamespaceRun {
  /** cvg-<pid>-<hex>: names this run everywhere (namespaces, state directory). */
  readonly id: string;
  readonly prefix: string;
  readonly #runner: Runner;
  readonly #created: string[] = [];
  readonly #pids: number[] = [];
  readonly #undo: (() => void)[] = [];
  readonly #dirs: string[] = [];
  #ending = false;
  // A second Ctrl-C while cleaning up must not cut the cleanup short: it is ignored.
  readonly #onSignal = (signal: NodeJS.Signals) => {
    if (this.#ending) return;
    this.#ending = true;
    noteInterrupt(signal);
    this.cleanup();
    exitIfInterrupted();
  };
  readonly #onExit = () => this.cleanup();

  constructor(runner: Runner = realRunner) {
    this.#runner = runner;
    this.id = `${NETNS_PREFIX}${process.pid}-${randomBytes(2).toString('hex')}`;
    this.prefix = `${this.id}-`;
    for (const signal of INTERRUPTS) process.on(signal, this.#onSignal);
    process.once('exit', this.#onExit);
  }

  /** Creates the namespace `<prefix><name>` with loopback up and returns its full name. */
  add(name: string): string {
    const ns = this.ns(name);
    runChecked(this.#runner, ['ip', 'netns', 'add', ns]);
    this.#created.push(ns);
    runChecked(this.#runner, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Creates the namespaces `<prefix><name>` in one `ip -batch` (a process start costs 0.1 s in the VM
   * lab), their loopback still down: the caller brings it up with its first batch in each.
   */
  addAll(names: readonly string[]): void {
    const all = names.map((n) => this.ns(n));
    // Recorded first: a batch that fails halfway leaves some behind, and cleanup removes them.
    this.#created.push(...all);
    runChecked(this.#runner, ['ip', '-batch', '-'], {
      input: `${all.map((ns) => `netns add ${ns}`).join('\n')}\n`,
    });
  }

  /** Namespaces under this run's prefix that something else created (a rendered `netns add`). */
  adopt(names: readonly string[]): void {
    for (const ns of names) {
      if (!ns.startsWith(this.prefix)) throw new Error(`${ns} is not one of run ${this.id}'s namespaces`);
      this.#created.push(ns);
    }
  }

  ns(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** Runs argv inside the namespace. */
  exec(ns: string, argv: readonly string[], input?: string) {
    return this.#runner(['ip', 'netns', 'exec', ns, ...argv], { input });
  }

  /** A process this run started; it is killed when the run ends. Call the result once it ended. */
  track(pid: number): () => void {
    this.#pids.push(pid);
    return () => {
      const i = this.#pids.indexOf(pid);
      if (i >= 0) this.#pids.splice(i, 1);
    };
  }

  /** Something else to undo at the end, after the namespaces (a state directory). */
  atCleanup(undo: () => void): void {
    this.#undo.push(undo);
  }

  /** The run's directory (its state, logs, rendered files): removed at the end, after the namespaces. */
  removesDir(path: string): void {
    this.#dirs.push(path);
    this.atCleanup(() => rmSync(path, { recursive: true, force: true }));
  }

  /** The run's namespaces and processes stay after this process exits (`lab up`). */
  keep(): void {
    this.#created.length = 0;
    this.#pids.length = 0;
    this.#undo.length = 0;
    this.#dirs.length = 0;
    this.#disarm();
  }

  cleanup(): void {
    const cleaning = this.#created.length + this.#pids.length + this.#undo.length > 0;
    while (this.#pids.length > 0) killQuietly(this.#pids.pop() as number);
    deleteNamespaces(this.#runner, this.#created.splice(0).reverse());
    while (this.#undo.length > 0) (this.#undo.pop() as () => void)();
    this.#disarm();
    if (cleaning && interrupted()) noteRemoved(this.id, this.#left());
  }

  /** What is still there of the run after its cleanup: namespaces with its prefix, its directories. */
  #left(): string[] {
    const listed = this.#runner(['ip', 'netns', 'list']).stdout.split('\n');
    const namespaces = listed
      .map((l) => l.split(' ')[0] as string)
      .filter((ns) => ns.startsWith(this.prefix));
    return [...namespaces, ...this.#dirs.splice(0).filter((d) => existsSync(d))];
  }

  #disarm(): void {
    for (const signal of INTERRUPTS) process.removeListener(signal, this.#onSignal);
    process.removeListener('exit', this.#onExit);
  }
}

/** One `ip -batch` for all; -force goes on past a namespace that is already gone. */
export function deleteNamespaces(runner: Runner, names: readonly string[]): void {
  if (names.length > 0)
    runner(['ip', '-force', '-batch', '-'], {
      input: `${names.map((ns) => `netns del ${ns}`).join('\n')}\n`,
    });
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
