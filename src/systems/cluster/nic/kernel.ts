// What a routed plug or unplug changes in the node's kernel, as a list of changes: the tap's link,
// its sysctls, its /32 and /128, its proxy-NDP entry, and the announcement of its guest (F22). They
// run in order in one python3 process over netlink (kernel.py): no process per command, and no
// `ip neigh ... dev`, which reads every link of the node first (30 ms at 10,000 taps). Where python3
// is missing, ip and sysctl make the same changes, and the guest goes unannounced (a warning: the
// plug stands, and the upstream router learns the move at its next ARP or NS).
import { join } from 'node:path';
import { shippedFile } from '../../../util/shipped.ts';
import { type Exec, NicFailed, runOrFail } from './refused.ts';

export type KernelChange =
  /** The link down: its MAC changes next, and its link-local address (the guests' router) with it. */
  | { readonly kind: 'down'; readonly dev: string }
  /** `ip link set dev DEV nomaster address MAC mtu MTU alias ALIAS up`. */
  | {
      readonly kind: 'link';
      readonly dev: string;
      readonly mac: string;
      readonly mtu: number;
      readonly alias: string;
    }
  /** A sysctl in the slash form (a Xen tap is "vif1.0"). */
  | { readonly kind: 'sysctl'; readonly key: string; readonly value: string }
  /** `ADDRESS/32|128 proto static dev DEV table TABLE`; deleting one that is gone is no error. */
  | {
      readonly kind: 'route';
      readonly verb: 'replace' | 'del';
      readonly address: string;
      readonly dev: string;
      readonly table: number;
    }
  /** The proxy-NDP entry of ADDRESS on DEV (the uplink); deleting one that is gone is no error. */
  | {
      readonly kind: 'proxy';
      readonly verb: 'replace' | 'del';
      readonly address: string;
      readonly dev: string;
    }
  /**
   * TAP's /128 of ADDRESS in TABLE removed and, only when TAP's was there, the proxy-NDP entry of
   * ADDRESS on UPLINK: another tap of this node may route ADDRESS now (its plug replaced this route),
   * and the proxy entry is that tap's as much as this one's.
   */
  | {
      readonly kind: 'unhost';
      readonly address: string;
      readonly tap: string;
      readonly table: number;
      readonly uplink: string;
    }
  /** Gratuitous ARP request and reply, unsolicited NA, on the uplink from its MAC. */
  | { readonly kind: 'announce'; readonly uplink: string; readonly ipv4?: string; readonly ipv6?: string };

const HELPER = join('src', 'systems', 'cluster', 'nic', 'kernel.py');
/** kernel.py's exit when everything but the announcement was done. */
const UNANNOUNCED = 3;

export const isIPv6 = (address: string) => address.includes(':');

/** "/32" or "/128". */
export const hostRoute = (address: string) => `${address}/${isIPv6(address) ? 128 : 32}`;

/** A change as kernel.py reads it: one line. */
export function lineOf(c: KernelChange): string {
  switch (c.kind) {
    case 'down':
      return `down ${c.dev}`;
    case 'link':
      return `link ${c.dev} ${c.mac} ${c.mtu} ${c.alias}`;
    case 'sysctl':
      return `sysctl ${c.key} ${c.value}`;
    case 'route':
      return `route ${c.verb} ${c.address} ${c.dev} ${c.table}`;
    case 'proxy':
      return `proxy ${c.verb} ${c.address} ${c.dev}`;
    case 'unhost':
      return `unhost ${c.address} ${c.tap} ${c.table} ${c.uplink}`;
    case 'announce':
      return `announce ${c.uplink} ${c.ipv4 ?? '-'} ${c.ipv6 ?? '-'}`;
  }
}

/**
 * Makes the changes, in order; a change the kernel refuses throws (those before it stand). The
 * warning of a guest left unannounced; undefined when it was announced or nothing was to be.
 * `-I -S`: no site, a fast start.
 */
export function applyChanges(exec: Exec, changes: readonly KernelChange[]): string | undefined {
  if (changes.length === 0) return undefined;
  const helper = shippedFile(HELPER, import.meta.url);
  const announcing = changes.find((c) => c.kind === 'announce');
  if (helper !== undefined) {
    const r = exec(['python3', '-I', '-S', helper], `${changes.map(lineOf).join('\n')}\n`);
    if (r.status === 0) return undefined;
    if (r.status === UNANNOUNCED) return `no announcement: ${r.stderr.trim()}`;
    if (!(r.status === 127 || /python3.*(No such file|not found)/.test(r.stderr)))
      throw new NicFailed(`${HELPER} failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  withIp(exec, changes);
  if (announcing === undefined) return undefined;
  return helper === undefined
    ? `no announcement: ${HELPER} is not installed with convergent`
    : 'no announcement (gratuitous ARP, unsolicited NA): python3 is not installed (Debian package python3)';
}

/** The changes by ip and sysctl, a run of routes and proxy entries in one `ip -batch`; no announcement. */
function withIp(exec: Exec, changes: readonly KernelChange[]): void {
  let batch: string[] = [];
  let force = false;
  const flush = () => {
    if (batch.length === 0) return;
    const input = `${batch.join('\n')}\n`;
    if (force) exec(['ip', '-force', '-batch', '-'], input);
    else runOrFail(exec, ['ip', '-batch', '-'], input);
    batch = [];
  };
  for (const c of changes) {
    if (c.kind === 'route' || c.kind === 'proxy') {
      // Deletions in a forced batch of their own: one already gone is no error.
      if (batch.length > 0 && force !== (c.verb === 'del')) flush();
      force = c.verb === 'del';
      batch.push(ipLine(c));
      continue;
    }
    flush();
    if (c.kind === 'down') runOrFail(exec, ['ip', 'link', 'set', 'dev', c.dev, 'down']);
    if (c.kind === 'link') {
      const settings = ['nomaster', 'address', c.mac, 'mtu', String(c.mtu), 'alias', c.alias, 'up'];
      runOrFail(exec, ['ip', 'link', 'set', 'dev', c.dev, ...settings]);
    }
    if (c.kind === 'sysctl') runOrFail(exec, ['sysctl', '-qw', `${c.key}=${c.value}`]);
    if (c.kind === 'unhost') {
      const table = String(c.table);
      const route = exec(['ip', 'route', 'del', hostRoute(c.address), 'dev', c.tap, 'table', table]);
      // Its own route gone before (the tap down or gone flushes it): an orphan unless another tap routes it.
      if (route.status === 0 || !routedElsewhere(exec, c.address, c.tap, c.table))
        exec(['ip', 'neigh', 'del', 'proxy', c.address, 'dev', c.uplink]);
    }
  }
  flush();
}

/** Whether the table routes the address's /128 to another device than the tap (kernel.py's routed_elsewhere). */
function routedElsewhere(exec: Exec, address: string, tap: string, table: number): boolean {
  const r = exec(['ip', '-j', '-6', 'route', 'show', 'table', String(table), hostRoute(address)]);
  if (r.status !== 0) return false;
  return (JSON.parse(r.stdout || '[]') as { dev?: string }[]).some((route) => route.dev !== tap);
}

/** A route or proxy entry as an `ip -batch` line. */
function ipLine(c: Extract<KernelChange, { kind: 'route' | 'proxy' }>): string {
  if (c.kind === 'proxy') return `neigh ${c.verb} proxy ${c.address} dev ${c.dev}`;
  const proto = c.verb === 'replace' ? ' proto static' : '';
  return `route ${c.verb} ${hostRoute(c.address)}${proto} dev ${c.dev} table ${c.table}`;
}
