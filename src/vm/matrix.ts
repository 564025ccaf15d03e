// `lab test --vm --kernel A --kernel B`: the same checks on several kernels, one table. A kernel
// that could not run the lab gets a column of "-" and its reason below the table.
import type { VmLabReport } from './lab.ts';

export interface KernelRun {
  readonly kernel: string;
  readonly report?: VmLabReport;
  readonly error?: string;
}

export function formatMatrix(runs: readonly KernelRun[]): string {
  const names: string[] = [];
  for (const r of runs)
    for (const c of r.report?.results ?? []) if (!names.includes(c.name)) names.push(c.name);
  const header = ['CHECK', ...runs.map((r) => r.kernel)];
  const rows = names.map((name) => [
    name,
    ...runs.map((r) => {
      const c = r.report?.results.find((x) => x.name === name);
      return c === undefined ? '-' : c.passed ? 'pass' : 'FAIL';
    }),
  ]);
  const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  const totals = [
    ['passed', ...runs.map((r) => (r.report ? `${r.report.passed}/${r.report.results.length}` : 'not run'))],
    ['VM boot', ...runs.map((r) => seconds(r.report?.vm.bootMs))],
    ['VM total', ...runs.map((r) => seconds(r.report?.vm.totalMs))],
  ];
  const all = [header, ...rows, ...totals];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] as string).length)));
  const line = (row: readonly string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const errors = runs.filter((r) => r.error).map((r) => `${r.kernel}: ${r.error}`);
  return `${[line(header), ...rows.map(line), '', ...totals.map(line), ...(errors.length ? ['', ...errors] : [])].join('\n')}\n`;
}
