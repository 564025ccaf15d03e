// `nic down` (F21): what a hypervisor's hook runs when a guest's tap goes (the guest stopped, moved
// or lost the NIC). Removes every element keyed by the tap's name, whoever added it, and takes the
// tap out of its bridge when it still exists: after a guest stops, its tap is often gone already,
// and that is not an error. `localOnly` is Ganeti's local-cleanup-only (the source node of a
// migration): it skips what the node shares with the others. Part 1 shares nothing (no proxy NDP).

import { plural } from '../../../util/plural.ts';
import type { Fault } from '../../faults.ts';
import { PORT_SETS } from '../features/ports/names.ts';
import { checkNotNodeLink, checkTap, findNode } from './find.ts';
import { elementsOfRecord } from './record.ts';
import { type Exec, runOrFail } from './refused.ts';
import { deleteLines, elementsOf, forgetLines, type Link, linkOf, portsTable, setLink } from './state.ts';
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
 * Removes every element of the tap; returns how many the NIC had (its entry in `plugged` is
 * bookkeeping). A live tap's record names them (nothing read); a tap that is gone, or whose record
 * nft disagrees with, has the sets read.
 */
function forget(exec: Exec, tap: string, link: Link | undefined): number {
  const recorded = elementsOfRecord(link?.ifalias, tap);
  if (recorded && exec(['nft', '-f', '-'], `${forgetLines(recorded, tap).join('\n')}\n`).status === 0)
    return recorded.length;
  const stale = elementsOf(portsTable(exec) ?? [], tap);
  if (stale.length > 0) runOrFail(exec, ['nft', '-f', '-'], `${deleteLines(stale).join('\n')}\n`);
  return stale.filter((e) => e.set !== PORT_SETS.plugged).length;
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
  _options: DownOptions,
): Unplugged {
  checkTap(tap);
  const node = cluster ? findNode(cluster, nodeName) : undefined;
  const link = linkOf(exec, tap);
  if (cluster && node) checkNotNodeLink(cluster, node, tap, link?.master);
  const removed = forget(exec, tap, link);
  // Out of its bridge, and its record gone with its elements.
  if (link !== undefined) setLink(exec, tap, ...(link.master !== undefined ? ['nomaster'] : []), 'alias', '');
  const where =
    link === undefined ? `${tap} is gone` : link.master ? `out of bridge ${link.master}` : 'in no bridge';
  return {
    tap,
    removed,
    gone: link === undefined,
    ...(link?.master !== undefined ? { bridge: link.master } : {}),
    line: `nic down ${tap} on ${nodeName}: ${plural(removed, 'element')} removed, ${where}`,
  };
}
