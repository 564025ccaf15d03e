// `nic down` (F21): what a hypervisor's hook runs when a guest's tap goes (the guest stopped, moved
// or lost the NIC). Removes every element keyed by the tap's name, whoever added it, and takes the
// tap out of its bridge when it still exists: after a guest stops, its tap is often gone already,
// and that is not an error. `localOnly` is Ganeti's local-cleanup-only (the source node of a
// migration): it skips what the node shares with the others. Nothing is shared: a bridged tap's
// elements are the node's own, and so are a routed tap's routes and proxy-NDP entry (routed-down.ts).

import { plural } from '../../../util/plural.ts';
import type { Fault } from '../../faults.ts';
import { ARP_REF, type NftTableRef, PORTS_REF, ROUTED_REF } from './elements.ts';
import { checkNotNodeLink, checkTap, findNode } from './find.ts';
import { readRecord, type TapRecord } from './record.ts';
import { type Exec, runOrFail } from './refused.ts';
import { unroute } from './routed-down.ts';
import { deleteLines, forgetLines, heldOf, linkOf, ownElements, setLink } from './state.ts';
import type { NicTable } from './table.ts';

export interface Unplugged {
  readonly tap: string;
  readonly removed: number;
  /** The bridge the tap was taken out of; undefined when it was in none or is gone. */
  readonly bridge?: string;
  readonly gone: boolean;
  readonly line: string;
}

/**
 * Removes every element of the tap; returns how many the NIC had (its entries in `plugged` are
 * bookkeeping). A live tap's record names them (nothing read); a tap that is gone, or whose record
 * nft disagrees with, has the sets read: those of the record's tables, or of every table the spec uses.
 */
function forget(exec: Exec, tap: string, record: TapRecord | undefined, tables: NftTableRef[]): number {
  if (record && exec(['nft', '-f', '-'], `${forgetLines(record, tap).join('\n')}\n`).status === 0)
    return record.elements.length;
  const stale = heldOf(exec, tables, tap);
  if (stale.length > 0) runOrFail(exec, ['nft', '-f', '-'], `${deleteLines(stale).join('\n')}\n`);
  return ownElements(stale).length;
}

export interface DownOptions {
  readonly localOnly: boolean;
  /** The lab's faults (the CLI passes none). */
  readonly faults?: readonly Fault[];
}

export function nicDown(
  exec: Exec,
  cluster: NicTable | undefined,
  nodeName: string,
  tap: string,
  options: DownOptions,
): Unplugged {
  checkTap(tap);
  const node = cluster ? findNode(cluster, nodeName) : undefined;
  const link = linkOf(exec, tap);
  if (cluster && node) checkNotNodeLink(cluster, node, tap, link?.master);
  const record = readRecord(link?.ifalias, tap);
  const routed = cluster?.routed;
  const keepProxy = options.localOnly && (options.faults ?? []).includes('keep-proxy-ndp');
  // Routes and proxy entries first: a crash between leaves elements, which the next hook removes by name.
  const unrouted =
    record?.routes !== undefined || (routed ?? []).length > 0
      ? unroute(exec, routed ?? [], tap, link !== undefined, record?.routes, keepProxy)
      : {};
  const tables = routed === undefined || routed.length > 0 ? [PORTS_REF, ROUTED_REF, ARP_REF] : [PORTS_REF];
  const removed = forget(exec, tap, record, tables);
  // Out of its bridge, and its record gone with its elements.
  if (link !== undefined) setLink(exec, tap, ...(link.master !== undefined ? ['nomaster'] : []), 'alias', '');
  const where =
    link === undefined ? `${tap} is gone` : link.master ? `out of bridge ${link.master}` : 'in no bridge';
  return {
    tap,
    removed,
    gone: link === undefined,
    ...(link?.master !== undefined ? { bridge: link.master } : {}),
    line: `nic down ${tap} on ${nodeName}: ${[`${plural(removed, 'element')} removed`, ...(unrouted.said ? [unrouted.said] : []), where].join(', ')}`,
  };
}
