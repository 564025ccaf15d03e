// A part of the host apply manages: it reads convergent's objects of its kind from the host and says
// what must change for them to be the desired ones. Parts never run commands that change the host:
// the engine does, in order, journaled.
import type { Runner } from '../lab/run.ts';
import type { Change } from './change.ts';
import type { Desired } from './desired.ts';

/** Where apply works: commands run through `run` (the lab's runs them in a node's namespace). */
export interface HostIO {
  readonly run: Runner;
  /** Files are installed under it: "/" on a host, the node's directory in the lab. */
  readonly root: string;
  /** The record of what convergent applied, the journal and the checkpoint (apply/state.ts). */
  readonly stateDir: string;
}

export interface Part<Live> {
  readonly name: string;
  /** convergent's objects of this kind as the host has them (read-only commands only). */
  read(io: HostIO): Live;
  /** What must change for `live` to be `desired`; empty when it is already. */
  changes(io: HostIO, live: Live, desired: Desired): Change[];
  /**
   * The objects as they are, as a part of a Desired: what a rollback restores. `desired` is the state
   * about to be applied: the sysctls' snapshot holds the values of the keys it sets.
   */
  snapshot(io: HostIO, live: Live, desired: Desired): Partial<Desired>;
  /**
   * Before the first change: what this part must note to know its objects should the apply be cut
   * (the addresses: the record's and the desired ones, as the host has no owner of its own for them).
   */
  begin?(io: HostIO, live: Live, desired: Desired): void;
  /** After a successful apply: what this part records in the state dir (owned addresses, the nft record). */
  record(io: HostIO, desired: Desired): void;
}
