// Plugging the bench's guests into a guarded node, and timing `nic up`. The bench's own taps go in
// through the real core (nicUp, as `convergent nic up` and the lab run it); the thousands of others
// as one nft transaction of the lines the core writes for a fresh tap (its entry in `plugged`, then
// portGuard's elements as elementText writes them), on taps that need not exist: the sets are keyed
// by the tap's name, and a bridge takes at most 1,024 ports anyway.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { elementText, portGuard } from '../src/systems/cluster/features/ports/elements.ts';
import { PORT_SETS, PORTS_TABLE } from '../src/systems/cluster/features/ports/names.ts';
import type { Cluster } from '../src/systems/cluster/model.ts';
import { execWith, nicUp } from '../src/systems/cluster/nic/index.ts';
import { inNs, type PortsLab, tapOf, wideRunner } from './ports-lab.ts';
import { NODE, PROBE } from './ports-spec.ts';
import { labClient } from './support.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NICUP = fileURLToPath(new URL('./ports-nicup.ts', import.meta.url));

/** The core's Exec inside the lab's node namespace. */
const onNode = (lab: PortsLab) => execWith(wideRunner, (argv) => ['ip', 'netns', 'exec', lab.node, ...argv]);

/** A guest of the bench plugged by the real core, on its tap. */
export function plugGuarded(lab: PortsLab, cluster: Cluster, guest: string): void {
  nicUp(onNode(lab), cluster, NODE, guest, tapOf(guest));
}

/** Every other guest's NIC 0 as `nic up` would add it on tap g<i>, in one nft -f. */
export function plugOthers(lab: PortsLab, cluster: Cluster, own: readonly string[]) {
  const lines: string[] = [];
  let nics = 0;
  for (const guest of cluster.guests) {
    if (own.includes(guest.name)) continue;
    const nic = guest.nics[0];
    if (!nic) continue;
    nics++;
    const network = cluster.bridged.find((b) => b.name === nic.network);
    // As nicUp's transaction for a fresh tap: the tap into `plugged`, then its elements.
    lines.push(`create element bridge ${PORTS_TABLE} ${PORT_SETS.plugged} { ${JSON.stringify(guest.name)} }`);
    for (const e of portGuard(nic, network, guest.name).elements)
      lines.push(`add element bridge ${PORTS_TABLE} ${e.set} ${elementText(e)}`);
  }
  const t = performance.now();
  inNs(lab.node, ['nft', '-f', '-'], `${lines.join('\n')}\n`);
  return { nics, elements: lines.length, seconds: (performance.now() - t) / 1000 };
}

export interface NicUpTimes {
  /** ms of nic up on a tap that holds nothing (after a nic down). */
  readonly up: number[];
  /** ms of nic up again on the same tap: its elements cleared and added anew. */
  readonly again: number[];
  readonly down: number[];
  /** ms of each call's commands, by their first words ("nft -j list", "ip link"), and "rest". */
  readonly parts: Record<'up' | 'again' | 'down', Record<string, number[]>>;
}

/**
 * `calls` rounds of down, up, up of p's tap by the core, in a process of its own inside the node's
 * namespace: the core's commands then run as on a node, not through `ip netns exec` each.
 */
export async function nicUpTimes(lab: PortsLab, file: string, calls: number): Promise<NicUpTimes> {
  const argv = [process.execPath, '--import', 'tsx', NICUP, file, NODE, PROBE, tapOf(PROBE), String(calls)];
  const r = await nodeClient(lab, argv);
  try {
    return JSON.parse(r.stdout) as NicUpTimes;
  } catch {
    throw new Error(`${lab.label}: ports-nicup.ts exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
}

/** A process in the node's namespace, tracked by the lab while it runs. */
function nodeClient(lab: PortsLab, argv: readonly string[]) {
  return labClient(
    { ns: (host) => (host === NODE ? lab.node : lab.ns(host)), track: lab.track },
    NODE,
    argv,
    300_000,
  );
}

/**
 * The CLI bundled into one file by esbuild (as scripts/bundle.mjs does for the VM lab, without its
 * code cache), two levels below a temporary root as dist/bundle/ is below the repository.
 */
export async function bundleCli(): Promise<{ file: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'convergent-bench-cli-'));
  const file = join(dir, 'dist', 'bundle', 'convergent.cjs');
  await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { 'import.meta.url': '__convergentUrl' },
    banner: { js: "const __convergentUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliTimes {
  readonly times: number[];
  /** How the run after the last timed one failed. */
  readonly failed?: string;
}

/**
 * ms of `convergent nic up` runs of p's tap: cold (the hooks' cache emptied before each run, so the
 * spec is read and the cache written) and warm (the cache written by the run before); and of
 * `convergent --version` (node and the CLI alone). The cache lives in a directory of the bench's.
 */
export async function cliTimes(lab: PortsLab, cli: string, file: string, calls: number) {
  const cache = mkdtempSync(join(tmpdir(), 'convergent-bench-cache-'));
  const emptyCache = () => {
    for (const entry of readdirSync(cache)) rmSync(join(cache, entry), { force: true });
  };
  // A failing run is a figure too (the bench prints it): it stops the series, not the bench.
  const time = async (args: readonly string[], before = () => {}): Promise<CliTimes> => {
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      before();
      const t = performance.now();
      const r = await nodeClient(lab, [
        'env',
        `CONVERGENT_CACHE_DIR=${cache}`,
        process.execPath,
        cli,
        ...args,
      ]);
      if (r.status !== 0)
        return { times, failed: `exit ${r.status}: ${(r.stderr.trim() || r.stdout.trim()).split('\n')[0]}` };
      times.push(performance.now() - t);
    }
    return { times };
  };
  const nicUpArgs = ['nic', 'up', file, '--node', NODE, '--nic', PROBE, '--tap', tapOf(PROBE)];
  try {
    const version = await time(['--version']);
    const cold = await time(nicUpArgs, emptyCache);
    const cached = readdirSync(cache).length;
    const warm = await time(nicUpArgs);
    return { version, nicUp: cold, warm, cached };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
