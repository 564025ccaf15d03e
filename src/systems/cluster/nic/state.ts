// What a node holds for a tap, read from the node itself (never from the spec: a stale element may
// come from another guest, another spec, or a version of the spec that is gone): the guest-ports
// table's elements keyed by the tap's name, and the tap's link.
import { elementText, keyText, type PortElement } from '../features/ports/elements.ts';
import { PORT_SETS, PORTS_TABLE } from '../features/ports/names.ts';
import { type Exec, NicFailed, runOrFail } from './refused.ts';

/** An element as the node holds it, ready for `delete element`. */
export interface HeldElement {
  readonly set: string;
  /** The key's parts as nft reads them: the port (ifname) first. */
  readonly key: readonly string[];
}

/** nft's answer for a table that is not there. */
const MISSING = /No such file or directory/;

/** The table's elements (every set and map read: slow on a large node), or undefined when it is not loaded. */
export function portsTable(exec: Exec): HeldElement[] | undefined {
  const r = exec(['nft', '-j', 'list', 'table', 'bridge', PORTS_TABLE]);
  if (r.status !== 0 && MISSING.test(r.stderr)) return undefined;
  if (r.status !== 0)
    throw new NicFailed(`nft -j list table bridge ${PORTS_TABLE} failed: ${r.stderr.trim()}`);
  const out: HeldElement[] = [];
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, NftSet>[] }).nftables;
  for (const item of items) {
    const set = item.set ?? item.map;
    for (const elem of set?.elem ?? []) {
      // A map's element is [key, value]; a key with a comment or timeout is wrapped in { elem: { val } }.
      const raw = set?.map !== undefined && Array.isArray(elem) ? elem[0] : elem;
      const key = keyParts(raw);
      if (set && key) out.push({ set: set.name, key });
    }
  }
  return out;
}

interface NftSet {
  readonly name: string;
  readonly map?: unknown;
  readonly elem?: readonly unknown[];
}

function keyParts(raw: unknown): string[] | undefined {
  if (typeof raw === 'string') return [raw];
  if (raw === null || typeof raw !== 'object') return undefined;
  const o = raw as { concat?: unknown[]; elem?: { val?: unknown } };
  if (Array.isArray(o.concat)) return o.concat.map(String);
  if (o.elem !== undefined) return keyParts(o.elem.val);
  return undefined;
}

/** Every element whose port is the tap: what a stale plug (or this one, on nic down) left. */
export const elementsOf = (held: readonly HeldElement[], tap: string) => held.filter((e) => e.key[0] === tap);

/** `delete element` lines for nft -f. */
export function deleteLines(elements: readonly HeldElement[]): string[] {
  return elements.map((e) => `delete element bridge ${PORTS_TABLE} ${e.set} { ${keyText(e)} }`);
}

/**
 * The elements a tap's record names, removed whether nft holds them or not (`add` then `delete`:
 * nft 1.0.6 has no "delete if present"), with the tap's entry in `plugged`. nft refuses the whole
 * transaction when it holds one of them with another verdict: the record is not the truth then.
 */
export function forgetLines(recorded: readonly PortElement[], tap: string): string[] {
  const plugged: PortElement = { set: PORT_SETS.plugged, key: [tap] };
  return [...recorded, plugged].flatMap((e) => [
    `add element bridge ${PORTS_TABLE} ${e.set} ${elementText(e)}`,
    `delete element bridge ${PORTS_TABLE} ${e.set} { ${keyText(e)} }`,
  ]);
}

/** A link as `ip -j link show` gives it; undefined when there is no such interface. */
export interface Link {
  readonly ifname: string;
  readonly mtu: number;
  readonly master?: string;
  readonly operstate?: string;
  /** Its alias: what nic up plugged (nic/record.ts). */
  readonly ifalias?: string;
}

/** `ip link set dev TAP ...`: what the hooks change on a tap (bridge, MTU, alias, up). */
export function setLink(exec: Exec, tap: string, ...settings: string[]): void {
  runOrFail(exec, ['ip', 'link', 'set', 'dev', tap, ...settings]);
}

export function linkOf(exec: Exec, dev: string): Link | undefined {
  const r = exec(['ip', '-j', 'link', 'show', 'dev', dev]);
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as Link[])[0];
}
