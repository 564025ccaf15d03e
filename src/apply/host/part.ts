// The host part of apply: links, bridges, addresses, routes, policy rules and sysctls. It reads the
// host with `ip -j` and /proc/sys, and changes only convergent's objects: links with its alias,
// routes and rules of its protocol, the addresses its record names, the plan's sysctl keys. The
// routing tables' names (rt_tables.d) and rt_protos.d are files: the files part installs them.
import type { Change } from '../change.ts';
import type { Desired } from '../desired.ts';
import type { HostIO, Part } from '../part.ts';
import {
  addressChanges,
  type HostRecord,
  readRecord,
  recordOf,
  recordUnion,
  writeRecord,
} from './addresses.ts';
import { bridgeChanges } from './bridges.ts';
import { Refusals } from './commands.ts';
import { type LinkScope, linkChanges, staleLinks } from './links.ts';
import { type HostLive, readHost, readOthers, readSysctls } from './read.ts';
import { routeChanges } from './routes.ts';
import { ruleChanges } from './rules.ts';
import { snapshotHost } from './snapshot.ts';
import { snapshotSysctls, sysctlChanges } from './sysctls.ts';

export interface HostState extends HostLive {
  /** The state dir's record: the addresses convergent put, its links' ports. */
  readonly record: HostRecord;
}

/**
 * What must change, in the engine's order within each part: links parents first (NICs, bonds,
 * VLANs, bridges), then deletions of convergent's stale links children first; addresses, routes and
 * rules adds then deletes. Throws HostRefusal, before anything runs, for what it will not do.
 * `sysctls[i]` is the live value of desired.sysctls[i]'s key (readSysctls).
 */
export function hostChanges(
  live: HostState,
  desired: Desired,
  sysctls: readonly (string | undefined)[],
): Change[] {
  const refusals = new Refusals();
  const scope: LinkScope = {
    live: new Map(live.links.map((l) => [l.ifname, l])),
    desired: new Set([...desired.links.map((l) => l.name), ...desired.bridges.map((b) => b.name)]),
    recorded: live.record.ports,
    refusals,
  };
  const addresses = addressChanges(live.addresses, desired.addresses, live.record.addresses);
  const changes = [
    ...linkChanges(desired.links, scope),
    ...bridgeChanges(desired.bridges, scope),
    ...staleLinks(scope),
    ...addresses.changes,
    ...routeChanges(live.routes, desired.routes, addresses.readdressed),
    ...ruleChanges(live.rules, desired.rules),
    ...sysctlChanges(desired.sysctls, sysctls),
  ];
  refusals.throwAny();
  return changes;
}

export function readHostState(io: HostIO): HostState {
  return { ...readHost(io.run), record: readRecord(io.stateDir) };
}

export const hostPart: Part<HostState> = {
  name: 'host',
  read: readHostState,
  changes: (io, live, desired) =>
    hostChanges(
      live,
      desired,
      readSysctls(
        io.run,
        desired.sysctls.map((s) => s.key),
      ),
    ),
  // The sysctls of the keys the new plan sets, as they are: a rollback puts those values back.
  snapshot: (io, live, desired) => ({
    ...snapshotHost(live, live.record, desired, readOthers(io.run)),
    sysctls: snapshotSysctls(
      io.run,
      desired.sysctls.map((s) => s.key),
    ),
  }),
  begin: (io, live, desired) => recordBeforeApply(io, live, desired),
  record: (io, desired) => writeRecord(io.stateDir, recordOf(desired)),
};

/** Before the first change: the record names what was convergent's and what will be. */
export function recordBeforeApply(io: HostIO, live: HostState, desired: Desired): void {
  writeRecord(io.stateDir, recordUnion(live.record, desired));
}
