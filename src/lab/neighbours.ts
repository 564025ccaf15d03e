// The kernel's ARP table is one for all network namespaces: past gc_thresh3 entries (1024 by default)
// it drops every packet that needs a new entry until its garbage collector frees one, and the
// client's retransmission comes 1 s later. A lab of 20 nodes and 200 guests reaches ~1,010 entries
// with its derived checks, so a check there now and then timed out and passed when run again. The
// lab does not raise a machine-wide limit itself (as with kernel modules, it asks): it says so.
import { readFileSync } from 'node:fs';
import { plural } from '../util/plural.ts';

const STATS = '/proc/net/stat/arp_cache';
export const LIMIT_SYSCTL = 'net.ipv4.neigh.default.gc_thresh3';

/** Times the table was full so far (the table_fulls column, one line per CPU), from the file's text. */
export function tableFulls(text: string): number {
  const [header, ...cpus] = text.trim().split('\n');
  const column = (header ?? '').trim().split(/\s+/).indexOf('table_fulls');
  if (column < 0) return 0;
  return cpus.reduce((n, line) => n + Number.parseInt(line.trim().split(/\s+/)[column] ?? '0', 16), 0);
}

/** How often the ARP table was full since boot; 0 where the kernel does not say. */
export function arpTableFulls(): number {
  try {
    return tableFulls(readFileSync(STATS, 'utf8'));
  } catch {
    return 0;
  }
}

/** Why checks failed when the table overflowed `times` times while they ran, and the fix. */
export function overflowProblem(times: number, limit: string): string {
  return (
    `the kernel's ARP table was full ${plural(times, 'time')} during the checks (${LIMIT_SYSCTL} = ${limit}, shared by all namespaces): ` +
    `packets needing a new neighbour were dropped; raise it, e.g. sysctl -w ${LIMIT_SYSCTL}=4096`
  );
}

/** The limit as the kernel reports it. */
export function arpTableLimit(): string {
  try {
    return readFileSync(`/proc/sys/${LIMIT_SYSCTL.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return '?';
  }
}
