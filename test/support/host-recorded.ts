// What `ip -j` and /proc/sys said on a real kernel, recorded, for tests of the host part without
// root: a Runner that answers the read commands from test/support/host-recorded/<name>.json and
// fails on any other. Re-record (root): node --import tsx test/support/host-record.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../../src/lab/run.ts';

export const RECORDED_DIR = join(import.meta.dirname, 'host-recorded');

/** One recording: argv (joined by spaces) -> what it printed. */
export type Recording = Record<string, string>;

export const argvKey = (argv: readonly string[]) => argv.join(' ');

export function recordedRunner(name: string): Runner {
  const recording = JSON.parse(readFileSync(join(RECORDED_DIR, `${name}.json`), 'utf8')) as Recording;
  return (argv) => {
    const stdout = recording[argvKey(argv)];
    if (stdout === undefined) return { code: 1, stdout: '', stderr: `not recorded: ${argvKey(argv)}` };
    return { code: 0, stdout, stderr: '' };
  };
}

/** What Docker or libvirt would leave on a node: never convergent's (the lab test and the recordings). */
export const FOREIGN = [
  'ip link add virbr9 address 02:00:00:00:09:09 type bridge',
  'ip link set virbr9 up',
  'ip address add 172.31.0.1/24 dev virbr9',
  'ip route add 198.51.100.0/24 dev virbr9 proto static',
  'ip route add 172.31.5.0/24 dev virbr9 table 77',
  'ip rule add pref 3000 from 172.31.0.0/24 lookup 77',
  'ip -6 rule add pref 3001 from 2001:db8:77::/64 lookup 77',
];
