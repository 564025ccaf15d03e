// What loading a ruleset costs, for bench/scale.bench.ts: a node's rendered nftables.conf loaded with
// `nft -f` in a fresh namespace of the run (nothing there before it), timed from the fork to the exit,
// with nft's peak RSS from getrusage(RUSAGE_CHILDREN) in a python3 wrapper (its own memory is not a
// child's). And the forwards a live node holds: its map's elements, counted from `nft -j`.
import { PYTHON } from '../src/lab/agent.ts';
import { NamespaceRun } from '../src/lab/netns.ts';
import type { Runner } from '../src/lab/run.ts';
import { sh } from './support.ts';

const WRAPPER = `import json, resource, subprocess, sys, time
start = time.monotonic()
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.monotonic() - start
print(json.dumps({"status": r.returncode, "stderr": r.stderr[-2000:], "seconds": seconds,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
`;

export interface LoadRun {
  readonly ms: number;
  /** nft's peak resident set, in MB (10^6 bytes). */
  readonly rssMb: number;
}

/** `nft -f file` in a namespace of its own, created for it and removed after. */
export function loadFresh(file: string): LoadRun {
  const run = new NamespaceRun();
  try {
    const ns = run.add('load');
    const out = sh(['ip', 'netns', 'exec', ns, PYTHON, '-c', WRAPPER, 'nft', '-f', file]);
    const doc = JSON.parse(out) as { status: number; stderr: string; seconds: number; maxrss_kb: number };
    if (doc.status !== 0) throw new Error(`nft -f ${file} exited ${doc.status}: ${doc.stderr.trim()}`);
    return { ms: doc.seconds * 1000, rssMb: (doc.maxrss_kb * 1024) / 1e6 };
  } finally {
    run.cleanup();
  }
}

/** The elements of map `name` in table ip convergent, as the node's kernel holds them. */
export function mapElements(run: Runner, name: string): number {
  const r = run(['nft', '-j', 'list', 'map', 'ip', 'convergent', name]);
  if (r.code !== 0) throw new Error(`nft list map ${name}: ${r.stderr.trim()}`);
  const doc = JSON.parse(r.stdout) as { nftables: { map?: { elem?: unknown[] } }[] };
  return doc.nftables.reduce((n, o) => n + (o.map?.elem?.length ?? 0), 0);
}
