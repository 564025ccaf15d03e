// What a node holds for a tap, read from the node itself (never from the spec: a stale element may
// come from another guest, another spec, or a version of the spec that is gone): the guest-ports
// table's elements keyed by the tap's name, and the tap's link.
import { addLine, deleteLine, isPlugged, type NftTableRef, type NicElement, pluggedIn } from './elements.ts';
import { type TapRecord, tablesOf } from './record.ts';
import { type Exec, NicFailed, runOrFail } from './refused.ts';

/** An element as the node holds it, ready for `delete element`. */
export type HeldElement = Pick<NicElement, 'family' | 'table' | 'set' | 'key'>;

/** nft's answer for a table that is not there. */
const MISSING = /No such file or directory/;

/** The table's elements (every set and map read: slow on a large node), or undefined when it is not loaded. */
export function heldElements(exec: Exec, ref: NftTableRef): HeldElement[] | undefined {
  const r = exec(['nft', '-j', 'list', 'table', ref.family, ref.table]);
  if (r.status !== 0 && MISSING.test(r.stderr)) return undefined;
  if (r.status !== 0)
    throw new NicFailed(`nft -j list table ${ref.family} ${ref.table} failed: ${r.stderr.trim()}`);
  const out: HeldElement[] = [];
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, NftSet>[] }).nftables;
  for (const item of items) {
    const set = item.set ?? item.map;
    for (const elem of set?.elem ?? []) {
      // A map's element is [key, value]; a key with a comment or timeout is wrapped in { elem: { val } }.
      const raw = set?.map !== undefined && Array.isArray(elem) ? elem[0] : elem;
      const key = keyParts(raw);
      if (set && key) out.push({ family: ref.family, table: ref.table, set: set.name, key });
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

/** Every element of the tap in these tables, read from the node (the slow way); the tables not loaded are skipped. */
export const heldOf = (exec: Exec, tables: readonly NftTableRef[], tap: string): HeldElement[] =>
  tables.flatMap((t) => elementsOf(heldElements(exec, t) ?? [], tap));

/** `delete element` lines for nft -f. */
export const deleteLines = (elements: readonly HeldElement[]): string[] => elements.map(deleteLine);

/** Those of them that are the tap's own, not its entry in a `plugged` set. */
export const ownElements = (held: readonly HeldElement[]) => held.filter((e) => !isPlugged(e));

/**
 * The elements a tap's record names, removed whether nft holds them or not (`add` then `delete`:
 * nft 1.0.6 has no "delete if present"), with the tap's entries in `plugged`. nft refuses the whole
 * transaction when it holds one of them with another verdict: the record is not the truth then.
 */
export function forgetLines(record: TapRecord, tap: string): string[] {
  const plugged = tablesOf(record).flatMap((t) => pluggedIn(t, tap));
  return [...record.elements, ...plugged].flatMap((e) => [addLine(e), deleteLine(e)]);
}

/** A link as `ip -j link show` gives it; undefined when there is no such interface. */
export interface Link {
  readonly ifname: string;
  readonly mtu: number;
  readonly master?: string;
  readonly operstate?: string;
  readonly flags?: readonly string[];
  /** Its MAC. */
  readonly address?: string;
  /** Its alias: what nic up plugged (nic/record.ts). */
  readonly ifalias?: string;
}

/** `ip link set dev TAP ...`: what the hooks change on a tap (bridge, MTU, alias, up). */
export function setLink(exec: Exec, tap: string, ...settings: string[]): void {
  runOrFail(exec, ['ip', 'link', 'set', 'dev', tap, ...settings]);
}

/**
 * The links of these names that exist, in one ip process (a hook's process starts cost more than
 * its work): each `link show` line answers with a JSON array on its own line; -force goes on past a
 * name that is not there.
 */
export function linksOf(exec: Exec, devs: readonly string[]): Map<string, Link> {
  const r = exec(['ip', '-force', '-j', '-batch', '-'], devs.map((dev) => `link show dev ${dev}\n`).join(''));
  const links = new Map<string, Link>();
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('[')))
    for (const link of JSON.parse(line) as Link[]) links.set(link.ifname, link);
  return links;
}

export function linkOf(exec: Exec, dev: string): Link | undefined {
  const r = exec(['ip', '-j', 'link', 'show', 'dev', dev]);
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as Link[])[0];
}
