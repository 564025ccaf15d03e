// Tests that need root (namespaces, nft). Without root they are skipped locally, reported as skipped;
// under CI=true a test that cannot run fails, so a green CI means it ran.
import type { TestContext } from 'node:test';
import { installedKernels } from '../../src/vm/kernel.ts';
import { qemuMissing } from '../../src/vm/qemu.ts';

export function needsRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') throw new Error('this test needs root, and CI=true: it must run, not skip');
  t.skip('needs root (namespaces and nft)');
  return false;
}

/** VM lab tests: root, qemu and an installed Debian kernel; under CI=true all three must be there. */
export function needsVm(t: TestContext): boolean {
  if (!needsRoot(t)) return false;
  const missing =
    qemuMissing() ??
    (installedKernels().length === 0 ? 'no Debian kernel installed (linux-image-amd64)' : undefined);
  if (missing === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`this test needs the VM lab, and CI=true: ${missing}`);
  t.skip(missing);
  return false;
}
