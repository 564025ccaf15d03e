// Plugging bench/routed.bench.ts's guests with the real `nic up` core: every guest's NIC, the
// thousands of others included, goes in through nicUp in processes started in the node's namespace
// (bench/routed-plugall.ts), `workers` at a time over slices of the guests, as several hooks of a
// busy node would run side by side.
import { fileURLToPath } from 'node:url';
import type { RoutedLab } from './routed-lab.ts';
import { NODE } from './routed-spec.ts';
import { labClient, median } from './support.ts';

const PLUGALL = fileURLToPath(new URL('./routed-plugall.ts', import.meta.url));

/** A process in the node's namespace, tracked by the lab while it runs. */
export const onNode = (lab: RoutedLab, argv: readonly string[], timeoutMs: number) =>
  labClient(
    { ns: (host) => (host === NODE ? lab.node : lab.ns(host)), track: lab.track },
    NODE,
    argv,
    timeoutMs,
  );

export interface PlugAll {
  readonly calls: number;
  /** Wall-clock seconds from the first worker's start to the last one's end, spec reads included. */
  readonly seconds: number;
  /** The slowest worker's spec read. */
  readonly read: number;
  readonly medianMs: number;
  readonly p95Ms: number;
}

/** The p-th quantile (nearest rank) of xs. */
export const quantile = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(s.length * p) - 1)] ?? Number.NaN;
};

/** Guests first..last-1 plugged by `workers` processes of the core, each a contiguous slice. */
export async function plugAll(
  lab: RoutedLab,
  file: string,
  first: number,
  last: number,
  workers: number,
): Promise<PlugAll> {
  const step = Math.ceil((last - first) / workers);
  const slices = Array.from({ length: workers }, (_, w) => [
    first + w * step,
    Math.min(last, first + (w + 1) * step),
  ]);
  const t = performance.now();
  const runs = await Promise.all(
    slices
      .filter(([a, b]) => (a as number) < (b as number))
      .map(([a, b]) =>
        onNode(
          lab,
          [process.execPath, '--import', 'tsx', PLUGALL, file, NODE, String(a), String(b)],
          3_600_000,
        ),
      ),
  );
  const seconds = (performance.now() - t) / 1000;
  const docs = runs.map((r) => {
    try {
      return JSON.parse(r.stdout) as { calls: number; read: number; ms: number[] };
    } catch {
      throw new Error(
        `${lab.label}: routed-plugall.ts exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
  });
  const ms = docs.flatMap((d) => d.ms);
  return {
    calls: ms.length,
    seconds,
    read: Math.max(0, ...docs.map((d) => d.read)),
    medianMs: ms.length > 0 ? median(ms) : 0,
    p95Ms: ms.length > 0 ? quantile(ms, 0.95) : 0,
  };
}
