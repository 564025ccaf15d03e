// Tests that need root (namespaces, nft). Without root they are skipped locally, reported as skipped;
// under CI=true a test that cannot run fails, so a green CI means it ran.
import type { TestContext } from 'node:test';

export function needsRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') throw new Error('this test needs root, and CI=true: it must run, not skip');
  t.skip('needs root (namespaces and nft)');
  return false;
}
