// Takes and releases a state dir's lock for a while, as many applies at once would (apply-engine's
// lock test runs several): each time it holds it, it creates `held` exclusively; a failure means
// two holders at once. Prints how often it held the lock and how often it was not alone.
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { lock, unlock } from '../../src/apply/state.ts';

const dir = process.argv[2] ?? '';
const end = Date.now() + Number(process.argv[3] ?? 2000);
let held = 0;
let shared = 0;
while (Date.now() < end) {
  if (lock(dir) !== undefined) continue;
  held++;
  try {
    closeSync(openSync(join(dir, 'held'), 'wx'));
  } catch {
    shared++;
  }
  rmSync(join(dir, 'held'), { force: true });
  unlock(dir);
}
process.stdout.write(`${JSON.stringify({ held, shared })}\n`);
