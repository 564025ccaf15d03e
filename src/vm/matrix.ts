// `lab test --vm --kernel A --kernel B`: the same checks on several kernels, one table.
import type { VmLabReport } from './lab.ts';

export function formatMatrix(reports: readonly VmLabReport[]): string {
  const names: string[] = [];
  for (const r of reports) for (const c of r.results) if (!names.includes(c.name)) names.push(c.name);
  const header = ['CHECK', ...reports.map((r) => r.vm.kernel)];
  const rows = names.map((name) => [
    name,
    ...reports.map((r) => {
      const c = r.results.find((x) => x.name === name);
      return c === undefined ? '-' : c.passed ? 'pass' : 'FAIL';
    }),
  ]);
  const totals = [
    ['passed', ...reports.map((r) => `${r.passed}/${r.results.length}`)],
    ['VM boot', ...reports.map((r) => `${(r.vm.bootMs / 1000).toFixed(1)} s`)],
    ['VM total', ...reports.map((r) => `${(r.vm.totalMs / 1000).toFixed(1)} s`)],
  ];
  const all = [header, ...rows, ...totals];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] as string).length)));
  const line = (row: readonly string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line), '', ...totals.map(line)].join('\n')}\n`;
}
