// Sysctls: only the plan's keys. A key the plan stops setting keeps its value (the checkpoint has
// the old values of the keys a plan sets, for a rollback).
import { sysctlKey } from '../../host/sysctl.ts';
import type { Runner } from '../../lab/run.ts';
import type { Change } from '../change.ts';
import type { Desired } from '../desired.ts';
import { change } from './commands.ts';
import { readSysctls } from './read.ts';

type Sysctl = Desired['sysctls'][number];

/** As sysctl compares values: whitespace between words collapsed ("32768 60999"). */
const normal = (value: string) => value.trim().split(/\s+/).join(' ');

/** `live[i]` is the value of `desired[i]`'s key, undefined when the key does not exist. */
export function sysctlChanges(desired: readonly Sysctl[], live: readonly (string | undefined)[]): Change[] {
  return desired.flatMap((s, i) => {
    const now = live[i];
    // An optional key's module is not loaded: sysctl -p skips it too.
    if (now === undefined && s.optional) return [];
    if (now !== undefined && normal(now) === normal(s.value)) return [];
    const key = sysctlKey(s.key);
    const source = (s as { source?: string }).source;
    return [
      change('sysctls', 'change', `sysctl ${key}`, [{ argv: ['sysctl', '-q', '-w', `${key}=${s.value}`] }], {
        detail: `${now === undefined ? '(no such key)' : normal(now)} -> ${normal(s.value)}`,
        source,
      }),
    ];
  });
}

/** The keys' values as they are now: what a checkpoint restores (keys that do not exist left out). */
export function snapshotSysctls(run: Runner, keys: readonly (readonly string[])[]): Sysctl[] {
  const values = readSysctls(run, keys);
  return keys.flatMap((key, i) => {
    const value = values[i];
    return value === undefined ? [] : [{ key, value }];
  });
}
