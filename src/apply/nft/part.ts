// The nftables part of apply: convergent's tables. When the live structure is what the last apply
// loaded (the record) and the plan's structure is the record's, the change is set and map elements
// only, in one transaction: rules, their counters and conntrack stay as they are. Anything else
// (no record, drift, a changed structure, a checkpoint to restore) is one transaction replacing the
// tables, keeping the elements `nic up` added.
import type { Runner } from '../../lab/run.ts';
import type { Change } from '../change.ts';
import type { Desired, DesiredNft } from '../desired.ts';
import type { HostIO, Part } from '../part.ts';
import {
  blockElements,
  deltaDetail,
  deltaLines,
  elementDelta,
  type PlannedSet,
  plannedSets,
  structureChanges,
  structureOf,
} from './delta.ts';
import { driftOf } from './drift.ts';
import { type Elements, readTableElements } from './elements.ts';
import { type LiveTable, nftRead, readLiveTables, tableId } from './read.ts';
import { type NftRecord, type RecordedPlan, readNftRecord, writeNftRecord } from './record.ts';
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
  if (!record.plan) return 'the last apply restored a checkpoint';
  const changed = structureChanges(record.plan.structure, nft.ruleset);
  return changed.length > 0 ? `structure changed: ${changed.join(', ')}` : undefined;
}

function replaceChange(
  io: HostIO,
  live: NftLive,
  nft: DesiredNft,
  record: NftRecord | undefined,
  why: string,
) {
  const wanted = tablesOfDesired(nft).map(tableId);
  const stale = live.tables.map(tableId).filter((id) => !wanted.includes(id));
  const text = replaceText(
    nft,
    live.tables,
    keptLines(io.run, keptSets(nft, record?.plan?.sets, live.tables)),
  );
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
function fromLive(elements: ReadonlyMap<string, Elements>, recorded: RecordedPlan) {
  return (id: string, set: PlannedSet): Elements | undefined => {
    const live = elements.get(id);
    if (!live || !set.nic) return live;
    const was = blockElements(recorded.sets[id]?.elements ?? '');
    const named = new Set([...blockElements(set.elements).keys(), ...was.keys()]);
    return new Map([...live].filter(([key]) => named.has(key)));
  };
}

function changes(io: HostIO, live: NftLive, desired: Desired): Change[] {
  const nft = desired.nft;
  if (live.tables.length === 0 && tablesOfDesired(nft).length === 0) return [];
  const record = readNftRecord(io.stateDir);
  const why = replaceReason(record, live, nft);
  const recorded = record?.plan;
  if (why !== undefined || nft.kind !== 'plan' || !recorded)
    return [replaceChange(io, live, nft, record, why ?? 'no plan in the record')];
  const from = live.elements
    ? fromLive(live.elements, recorded)
    : (id: string) => recorded.sets[id]?.elements;
  const deltas = elementDelta(plannedSets(nft.ruleset), from);
  if (deltas.length === 0) return [];
  const input = `${deltaLines(deltas).join('\n')}\n`;
  // nft checks the transaction against the kernel and commits nothing (-c): an element changed by
  // hand makes it refuse, and the tables are replaced instead.
  const check = io.run(['nft', '-c', '-f', '-'], { input });
  if (check.code !== 0) {
    const said = check.stderr.trim().split('\n')[0] ?? '';
    return [replaceChange(io, live, nft, record, `nft refuses the element change (${said})`)];
  }
  const tables = [...new Set(deltas.map((d) => d.set.split(' ').slice(0, 2).join(' ')))];
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

/** After a successful apply: the plan's structure and elements, and the listing as it is now. */
function record(io: HostIO, desired: Desired): void {
  const tables = readLiveTables(io.run).map(({ family, name, structure }) => ({ family, name, structure }));
  const nft = desired.nft;
  // A restored checkpoint has no plan: the next apply compares with the listing alone.
  const plan =
    nft.kind === 'saved'
      ? undefined
      : { structure: structureOf(nft.ruleset), sets: plannedSets(nft.ruleset) };
  writeNftRecord(io.stateDir, plan ? { plan, tables } : { tables });
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
