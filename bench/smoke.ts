// `--smoke`: a short run that only proves a bench still works end to end (tiny durations, one round,
// the smallest sizes), as `npm test` runs every bench (test/lab/bench-smoke.test.ts). Its figures mean
// nothing and go nowhere: a smoke run says so at the top and writes no file.
export const smoke = process.argv.includes('--smoke');

/** A bench setting: the smoke run's value, else the environment's `name`, else the full run's. */
export const setting = (name: string, full: number, small: number): number =>
  smoke ? small : Number(process.env[name] ?? full);

/** iperf3 -O: seconds of slow start left out (a smoke run has no figures to keep clean). */
export const IPERF_OMIT = smoke ? 0 : 1;

export const SMOKE_LINE =
  'smoke run (--smoke): tiny durations, one round, smallest sizes; the figures mean nothing';
