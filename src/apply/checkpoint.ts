// The checkpoint: convergent's objects as they were before an apply, as a Desired (each part's
// snapshot of what it read), so that a rollback is an apply of it. Saved as checkpoint/desired.json,
// with nftables.nft and the files before beside it for a human; written into a fresh directory that
// then replaces checkpoint/, so a crash while saving leaves the former one whole.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Desired } from './desired.ts';
import { ApplyError } from './errors.ts';
import { syncDir, writeAtomic } from './state.ts';

export const CHECKPOINT = 'checkpoint';

/** A Desired with nothing: what the parts' snapshots fill in. */
export function emptyDesired(cluster: string, node: string): Desired {
  return {
    cluster,
    node,
    links: [],
    bridges: [],
    addresses: [],
    routes: [],
    rules: [],
    tables: [],
    sysctls: [],
    nft: { kind: 'saved', tables: [], text: '' },
    files: [],
  };
}

/** The parts' snapshots as one Desired: lists two parts give are joined, the rest taken as given. */
export function mergeSnapshots(base: Desired, snapshots: readonly Partial<Desired>[]): Desired {
  const out: Record<string, unknown> = { ...base };
  for (const s of snapshots)
    for (const [key, value] of Object.entries(s)) {
      const had = out[key];
      out[key] = Array.isArray(had) && Array.isArray(value) && had.length > 0 ? [...had, ...value] : value;
    }
  return out as unknown as Desired;
}

export function saveCheckpoint(stateDir: string, desired: Desired): void {
  const final = join(stateDir, CHECKPOINT);
  const fresh = join(stateDir, `${CHECKPOINT}.new`);
  const old = join(stateDir, `${CHECKPOINT}.old`);
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  writeAtomic(join(fresh, 'desired.json'), `${JSON.stringify(desired)}\n`);
  writeAtomic(join(fresh, 'nftables.nft'), desired.nft.text);
  for (const f of desired.files) if (f.text !== undefined) writeAtomic(join(fresh, 'files', f.path), f.text);
  // Two renames: a crash between them leaves checkpoint.old, which loadCheckpoint falls back to.
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(fresh, final);
  syncDir(stateDir);
  rmSync(old, { recursive: true, force: true });
}

export function loadCheckpoint(stateDir: string): Desired {
  for (const dir of [CHECKPOINT, `${CHECKPOINT}.old`]) {
    const path = join(stateDir, dir, 'desired.json');
    if (!existsSync(path)) continue;
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Desired;
    } catch (err) {
      throw new ApplyError('failed', `the checkpoint ${path} cannot be read: ${(err as Error).message}`);
    }
  }
  throw new ApplyError(
    'failed',
    `no checkpoint in ${join(stateDir, CHECKPOINT)}: the state before the apply is unknown`,
    'run `convergent apply FILE --node N` with the spec you want instead',
  );
}
