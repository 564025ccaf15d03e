// Tests that need root (namespaces, nft) and the lab's tools. Without them they are skipped locally,
// reported as skipped with what to install; under CI=true a test that cannot run fails with the same
// message (never a stack trace), so a green CI means it ran.
import type { TestContext } from 'node:test';
import {
  anyLabNeeds,
  describeMissing,
  missingOf,
  type Need,
  REQUIREMENTS,
  type Reason,
  vmNeeds,
} from '../../src/lab/preflight.ts';
import { installedKernels } from '../../src/vm/kernel.ts';
import { qemuMissing } from '../../src/vm/qemu.ts';

/** Fails (CI) or skips with `why`; a failure carries the message alone, without a stack. */
function cannotRun(t: TestContext, why: string): false {
  if (process.env.CI === 'true') {
    const err = new Error(`CI=true, so this test must run, not skip: ${why}`);
    err.stack = err.message;
    throw err;
  }
  t.skip(why);
  return false;
}

function preflight(t: TestContext, needs: readonly Reason[]): boolean {
  const missing = missingOf(needs);
  return missing.length === 0 || cannotRun(t, describeMissing(missing));
}

/** Root and every tool of a lab on this kernel; `also`, tools beyond (iperf3 for a benchmark). */
export function needsRoot(t: TestContext, ...also: Need[]): boolean {
  if (process.getuid?.() !== 0) return cannotRun(t, 'needs root (namespaces and nft)');
  return preflight(t, [...anyLabNeeds(), ...also.map((need) => ({ need, why: REQUIREMENTS[need].for }))]);
}

/** VM lab tests: root, the lab's tools, qemu, a Debian kernel and a static busybox. */
export function needsVm(t: TestContext): boolean {
  if (!needsRoot(t) || !preflight(t, vmNeeds())) return false;
  // qemu on PATH that does not start, or kernels without modules, are not a package's absence.
  const broken =
    qemuMissing() ??
    (installedKernels().length === 0 ? 'no Debian kernel installed (linux-image-amd64)' : undefined);
  return broken === undefined || cannotRun(t, broken);
}
