// The one nft transaction of `nic up`, for a bridged tap (guest-ports table) and a routed one (the
// routed and arp tables) alike: the tap's elements added, whatever a stale plug of that name left
// removed in the same transaction, and nothing read from the sets unless the tap's record fails it.
import { addLine, pluggedIn } from './elements.ts';
import { readRecord, recordOf, type TapRecord, tablesOf } from './record.ts';
import { type Exec, NicFailed, runOrFail } from './refused.ts';
import { deleteLines, forgetLines, heldOf, ownElements, setLink } from './state.ts';

const MISSING = /No such file or directory/;

/**
 * nft reads every element of a set to list it (0.3-1 s at 10,000 guests). A fresh tap: the
 * transaction *creates* it in `plugged` with its elements; nft refuses all of it when the tap is
 * still plugged. A tap plugged before (this hook run again): its record (the alias) names what to
 * remove. Only a tap without a record nft agrees with has the sets read, and every element keyed by
 * it deleted. Returns how many stale elements were removed and whether the tap was in no `plugged`
 * set (fresh: no plug of ours left anything on it), or undefined when a table is not there (nothing
 * changed).
 */
export function plugElements(
  exec: Exec,
  plug: TapRecord,
  tap: string,
  alias: string | undefined,
): { readonly cleared: number; readonly fresh: boolean } | undefined {
  const tables = tablesOf(plug);
  const plugged = tables.flatMap((t) => pluggedIn(t, tap)).map(addLine);
  const add = plug.elements.map(addLine);
  const recorded = readRecord(alias, tap);
  // A record of another kind (a bridged tap's name reused for a routed NIC): forgotten in the same
  // transaction, since creating this kind's `plugged` entry cannot notice it.
  const other = recorded && tablesOf(recorded)[0] !== tables[0] ? forgetLines(recorded, tap) : [];
  const created = plugged.map((line) => `create${line.slice('add'.length)}`);
  const fresh = exec(['nft', '-f', '-'], [...other, ...created, ...add, ''].join('\n'));
  if (fresh.status === 0)
    return { cleared: other.length > 0 && recorded ? recorded.elements.length : 0, fresh: true };
  if (MISSING.test(fresh.stderr)) return undefined;
  if (!/File exists/.test(fresh.stderr)) throw new NicFailed(`nft -f - failed: ${fresh.stderr.trim()}`);
  // Until this plug's own record replaces it, the alias names both plugs: whatever fails on the
  // way, the next hook removes all that either may have left.
  const both = recorded && recordOf(merged(recorded, plug));
  if (recorded && both !== undefined) {
    setLink(exec, tap, 'alias', both);
    const again = exec(
      ['nft', '-f', '-'],
      [...forgetLines(recorded, tap), ...plugged, ...add, ''].join('\n'),
    );
    if (again.status === 0) return { cleared: recorded.elements.length, fresh: false };
  }
  // The same table objects: a Set reads each table once.
  const stale = heldOf(exec, [...new Set([...tables, ...(recorded ? tablesOf(recorded) : [])])], tap);
  runOrFail(exec, ['nft', '-f', '-'], [...deleteLines(stale), ...plugged, ...add, ''].join('\n'));
  return { cleared: ownElements(stale).length, fresh: false };
}

/** Both plugs in one record: the old's elements and addresses, then the new's (each once: a hook run again names the same). */
function merged(old: TapRecord, plug: TapRecord): TapRecord {
  const routes = plug.routes ?? old.routes;
  const addresses = [...new Set([...(old.routes?.addresses ?? []), ...(plug.routes?.addresses ?? [])])];
  const seen = new Set(old.elements.map(addLine));
  const elements = [...old.elements, ...plug.elements.filter((e) => !seen.has(addLine(e)))];
  return { elements, ...(routes ? { routes: { ...routes, addresses } } : {}) };
}
