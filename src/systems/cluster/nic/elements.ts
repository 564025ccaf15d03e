// The elements `nic up` adds for a tap, whatever table they go to: the bridged networks' guest-ports
// table, or the routed networks' inet and arp tables (features/routed/elements.ts gives them with
// their table). Each is keyed by the tap's name first, so `nic down` (and a later `nic up` of that
// name) finds and removes them by that name alone.
import { elementText, keyText, type PortElement } from '../features/ports/elements.ts';
import { PORT_SETS, PORTS_TABLE } from '../features/ports/names.ts';
import type { RoutedElement } from '../features/routed/elements.ts';
import { ARP_TABLE, ROUTED_SETS, ROUTED_TABLE } from '../features/routed/names.ts';

/** An nft table the hooks fill: one transaction may touch several. */
export interface NftTableRef {
  readonly family: 'bridge' | 'inet' | 'arp';
  readonly table: string;
  /** The set every tap plugged into this table is created in (none: the table has no such set). */
  readonly plugged?: string;
}

export const PORTS_REF: NftTableRef = { family: 'bridge', table: PORTS_TABLE, plugged: PORT_SETS.plugged };
export const ROUTED_REF: NftTableRef = { family: 'inet', table: ROUTED_TABLE, plugged: ROUTED_SETS.plugged };
export const ARP_REF: NftTableRef = { family: 'arp', table: ARP_TABLE };

/** One element with its table (a routed element is one already). */
export type NicElement = Omit<RoutedElement, 'family' | 'set'> & {
  readonly family: NftTableRef['family'];
  readonly set: string;
};

/** A guest-ports element with its table. */
export const fromPort = (e: PortElement): NicElement => ({ family: 'bridge', table: PORTS_TABLE, ...e });

const where = (e: Pick<NicElement, 'family' | 'table' | 'set'>) => `${e.family} ${e.table} ${e.set}`;

export const addLine = (e: NicElement) => `add element ${where(e)} ${elementText(e)}`;
export const deleteLine = (e: Pick<NicElement, 'family' | 'table' | 'set' | 'key'>) =>
  `delete element ${where(e)} { ${keyText(e)} }`;

/** The tap's entry in the table's `plugged` set, if it has one. */
export function pluggedIn(ref: NftTableRef, tap: string): NicElement[] {
  return ref.plugged === undefined
    ? []
    : [{ family: ref.family, table: ref.table, set: ref.plugged, key: [tap] }];
}

/** Whether the element is a tap's entry in its table's `plugged` set (bookkeeping, not the NIC's own). */
export const isPlugged = (e: Pick<NicElement, 'table' | 'set'>) =>
  [PORTS_REF, ROUTED_REF].some((r) => r.table === e.table && r.plugged === e.set);
