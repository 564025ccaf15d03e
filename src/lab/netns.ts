// Network namespaces owned by one run. Every name carries the run's prefix (cvg-<pid>-<random>-),
// so runs can sit side by side and leftovers of a crashed run can be found and removed.
// Namespaces are removed when the run ends: normally, on an exception, and on SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import { type Runner, realRunner, runChecked } from './run.ts';

export const NETNS_PREFIX = 'cvg-';

export class NamespaceRun {
  readonly prefix: string;
  readonly #runner: Runner;
  readonly #created: string[] = [];
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.cleanup();
    process.kill(process.pid, signal);
  };
  readonly #onExit = () => this.cleanup();

  constructor(runner: Runner = realRunner) {
    this.#runner = runner;
    this.prefix = `${NETNS_PREFIX}${process.pid}-${randomBytes(2).toString('hex')}-`;
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    process.once('exit', this.#onExit);
  }

  /** Creates the namespace `<prefix><name>` with loopback up and returns its full name. */
  add(name: string): string {
    const ns = `${this.prefix}${name}`;
    runChecked(this.#runner, ['ip', 'netns', 'add', ns]);
    this.#created.push(ns);
    runChecked(this.#runner, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs argv inside the namespace. */
  exec(ns: string, argv: readonly string[], input?: string) {
    return this.#runner(['ip', 'netns', 'exec', ns, ...argv], { input });
  }

  cleanup(): void {
    while (this.#created.length > 0) {
      const ns = this.#created.pop() as string;
      this.#runner(['ip', 'netns', 'del', ns]);
    }
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
    process.removeListener('exit', this.#onExit);
  }
}
