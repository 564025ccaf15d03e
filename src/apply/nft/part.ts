// The nftables part of apply: convergent's tables. When the live structure is what the last apply
// loaded (the record) and the plan's structure is the record's, the change is set and map elements
// only, in one transaction: rules, their counters and conntrack stay as they are. Anything else
// (no record, drift, a changed structure, a checkpoint to restore) is one transaction replacing the
// tables, keeping the elements `nic up` added.
import type { Runner } from '../../lab/run.ts';
import type { NamedSet, Ruleset } from '../../nft/tree.ts';
import type { Change } from '../change.ts';
import type { Desired, DesiredNft } from '../desired.ts';
import type { HostIO, Part } from '../part.ts';
import { deltaDetail, deltaLines, elementDelta, fromTree, structureChanges } from './delta.ts';
import { driftOf } from './drift.ts';
import { type Elements, elementsOf, readTableElements, setsOf } from './elements.ts';
import { type LiveTable, nftRead, readLiveTables, tableId } from './read.ts';
import { type NftRecord, readNftRecord, writeNftRecord } from './record.ts';
import { keptLines, keptSets, replaceText, tablesOfDesired } from './replace.ts';

export interface NftLive {
  readonly tables: readonly LiveTable[];
  /** Every set's elements by setId, when read with them (diff: the full comparison). */
  readonly elements?: ReadonlyMap<string, Elements>;
}

export interface NftPartOptions {
  /**
   * Read every element too, and compute the element change from them rather than from the record:
   * finds an element changed by hand, at the cost of listing them all (diff; apply does not).
   */
  readonly elements?: boolean;
}

const NFT_STDIN: readonly string[] = ['nft', '-f', '-'];

/** Why the tables must be replaced whole; undefined when an element change can do. */
function replaceReason(record: NftRecord | undefined, live: NftLive, nft: DesiredNft): string | undefined {
  if (nft.kind === 'saved') return 'the saved tables are restored';
  if (!record) return 'no record of the last apply: the tables are loaded whole';
  const drift = driftOf(record, live.tables);
  if (drift.length > 0) return `changed on the host since the last apply: ${drift.join(', ')}`;
  if (!record.tree) return 'the last apply restored a checkpoint';
  const changed = structureChanges(record.tree, nft.ruleset);
  return changed.length > 0 ? `structure changed: ${changed.join(', ')}` : undefined;
}

function replaceChange(io: HostIO, live: NftLive, nft: DesiredNft, tree: Ruleset | undefined, why: string) {
  const wanted = tablesOfDesired(nft).map(tableId);
  const stale = live.tables.map(tableId).filter((id) => !wanted.includes(id));
  const text = replaceText(nft, live.tables, keptLines(io.run, keptSets(nft, tree, live.tables)));
  const change: Change = {
    part: 'nftables',
    action: live.tables.length === 0 ? 'add' : wanted.length === 0 ? 'delete' : 'change',
    what: wanted.length > 0 ? `tables ${wanted.join(', ')}` : `tables ${stale.join(', ')}`,
    detail: [why, ...stale.map((id) => `stale table ${id} deleted`)].join('; '),
    commands: [{ argv: NFT_STDIN, input: text }],
  };
  return change;
}

/** The live elements as `from`: a `nic up` set's only for the keys the plan or the record names. */
function fromLive(elements: ReadonlyMap<string, Elements>, record: Ruleset) {
  const recorded = setsOf(record);
  return (id: string, set: NamedSet): Elements | undefined => {
    const live = elements.get(id);
    if (!live || set.filledBy !== 'nic') return live;
    const named = new Set([
      ...elementsOf(set.elements).keys(),
      ...elementsOf(recorded.get(id)?.elements ?? []).keys(),
    ]);
    return new Map([...live].filter(([key]) => named.has(key)));
  };
}

function changes(io: HostIO, live: NftLive, desired: Desired): Change[] {
  const nft = desired.nft;
  if (live.tables.length === 0 && tablesOfDesired(nft).length === 0) return [];
  const record = readNftRecord(io.stateDir);
  const why = replaceReason(record, live, nft);
  if (why !== undefined || nft.kind !== 'plan' || !record?.tree)
    return [replaceChange(io, live, nft, record?.tree, why ?? 'no tree in the record')];
  const from = live.elements ? fromLive(live.elements, record.tree) : fromTree(record.tree);
  const deltas = elementDelta(nft.ruleset, from);
  if (deltas.length === 0) return [];
  const input = `${deltaLines(deltas).join('\n')}\n`;
  // nft checks the transaction against the kernel and commits nothing (-c): an element changed by
  // hand makes it refuse, and the tables are replaced instead.
  const check = io.run(['nft', '-c', '-f', '-'], { input });
  if (check.code !== 0) {
    const said = check.stderr.trim().split('\n')[0] ?? '';
    return [replaceChange(io, live, nft, record.tree, `nft refuses the element change (${said})`)];
  }
  const tables = [...new Set(deltas.map((d) => `${d.family} ${d.table}`))];
  return [
    {
      part: 'nftables',
      action: 'change',
      what: `elements of ${tables.map((t) => `table ${t}`).join(', ')}`,
      detail: deltaDetail(deltas),
      commands: [{ argv: NFT_STDIN, input }],
    },
  ];
}

/** convergent's tables as a rollback restores them: their listing, with the elements they hold now. */
function snapshot(io: HostIO, live: NftLive): Partial<Desired> {
  const text = live.tables.map((t) => nftRead(io.run, ['list', 'table', t.family, t.name])).join('\n');
  return { nft: { kind: 'saved', tables: live.tables.map(({ family, name }) => ({ family, name })), text } };
}

/** After a successful apply: the plan's tree and the listing as it is now. */
function record(io: HostIO, desired: Desired): void {
  const tables = readLiveTables(io.run).map(({ family, name, structure }) => ({ family, name, structure }));
  writeNftRecord(
    io.stateDir,
    desired.nft.kind === 'plan' ? { tree: desired.nft.ruleset, tables } : { tables },
  );
}

export function nftPart(options: NftPartOptions = {}): Part<NftLive> {
  return {
    name: 'nftables',
    read(io) {
      const tables = readLiveTables(io.run);
      if (!options.elements) return { tables };
      const elements = new Map<string, Elements>();
      for (const t of tables)
        for (const [id, e] of readTableElements(io.run, t.family, t.name)) elements.set(id, e);
      return { tables, elements };
    },
    changes,
    snapshot,
    record,
  };
}

/** Runs the changes' commands in order (tests and the bench; the engine runs them itself, journaled). */
export function runNftChanges(run: Runner, list: readonly Change[]): void {
  for (const c of list)
    for (const cmd of c.commands) {
      const r = run(cmd.argv, cmd.input === undefined ? {} : { input: cmd.input });
      if (r.code !== 0) throw new Error(`${cmd.argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
}
