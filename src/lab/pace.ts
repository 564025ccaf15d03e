// The lab's pace: how many times longer than usual its clients and waits may take here. Its
// timeouts (a client's 3 s, a probe's 10 s, a server's 15 s start) hold where python3 starts in
// 0.3 s or less; in the VM lab under emulation, with another process busy beside it, a probe's
// Python start alone took most of its 10 s and clients were killed mid-start. The VM measures its
// own process start when it boots (vm/pace.ts) and sets CONVERGENT_LAB_PACE for everything it runs;
// probe.py reads the same variable. Unset (a namespace lab on the host): 1.
export const PACE_ENV = 'CONVERGENT_LAB_PACE';

/** The pace from the environment: a number of at least 1. */
export function labPace(env: NodeJS.ProcessEnv = process.env): number {
  const pace = Number(env[PACE_ENV]);
  return Number.isFinite(pace) && pace > 1 ? pace : 1;
}

/** A timeout or wait of `ms` at the usual pace, at this lab's. */
export const paced = (ms: number, pace = labPace()) => Math.round(ms * pace);

/** "10 s", "27.5 s": a paced timeout in a message. */
export const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
