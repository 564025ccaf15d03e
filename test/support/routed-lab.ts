// The routed namespace lab for test/lab/routed.test.ts: routed-flat up, its checks, what a node and a
// guest hold (proxy-NDP entries, addresses, neighbours), a migration by `lab apply`, nic up|down run
// on a node as a hook runs them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { parse, stringify } from 'yaml';
import type { LabReport } from '../../src/lab/result.ts';
import { realRunner } from '../../src/lab/run.ts';
import { applyToLab } from '../../src/systems/cluster/lab/apply.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { attach, labUp, type Prepared, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { execWith, nicDown, nicUp } from '../../src/systems/cluster/nic/index.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { EXAMPLES_DIR } from './examples.ts';

export const ROUTED_FLAT = join(EXAMPLES_DIR, 'routed-flat.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'convergent-routed-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** routed-flat with guests moved ({ vm1: 'node2' }), as a file `lab apply` reads. */
export function movedSpec(moves: Record<string, string>): string {
  const spec = parse(readFileSync(ROUTED_FLAT, 'utf8')) as { guests: Record<string, { node: string }> };
  for (const [guest, node] of Object.entries(moves)) (spec.guests[guest] as { node: string }).node = node;
  const file = join(tmp, `routed-flat-${Object.entries(moves).flat().join('-')}.yaml`);
  writeFileSync(file, stringify(spec));
  return file;
}

export interface RoutedLab {
  lab: LabInstance;
  p: Prepared;
  lines: string[];
  check(p?: Prepared): Promise<LabReport>;
  /** `lab apply` of a moved spec; the lab is then the moved one's. */
  apply(file: string): Promise<void>;
  /** A command's output in a host's namespace. */
  sh(host: string, ...argv: string[]): string;
  /** `ip -6 neigh show proxy` on a node: the addresses it proxies. */
  proxied(node: string): string[];
  /** Every IPv4 address a host holds (its lab-only interfaces aside). */
  addresses(host: string): string[];
  /** nic up / nic down --local-only of a guest's NIC on a node, as Ganeti's hooks run them. */
  up(node: string, ref: string, tap: string): string;
  down(node: string, tap: string): string;
  close(): void;
}

export async function routedLab(faults: Fault[] = []): Promise<RoutedLab> {
  const lines: string[] = [];
  let p = prepare(ROUTED_FLAT, faults);
  const { lab: built, run } = await labUp(p, { progress: (l) => lines.push(l) });
  let lab = built;
  const sh = (host: string, ...argv: string[]) => {
    const r = realRunner(['ip', 'netns', 'exec', lab.ns(host), ...argv]);
    if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const exec = (node: string) =>
    execWith(realRunner, (argv) => ['ip', 'netns', 'exec', lab.ns(node), ...argv]);
  return {
    get lab() {
      return lab;
    },
    get p() {
      return p;
    },
    lines,
    check: (q) => runChecks(lab, q ?? p, (l) => lines.push(l)),
    apply: async (file) => {
      const next = prepare(file, faults);
      await applyToLab(lab, next, (l) => lines.push(l));
      p = next;
      lab = attach(lab.state, next, realRunner);
    },
    sh,
    proxied: (node) =>
      sh(node, 'ip', '-6', 'neigh', 'show', 'proxy')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0] as string)
        .sort(),
    addresses: (host) =>
      (JSON.parse(sh(host, 'ip', '-4', '-j', 'address', 'show')) as { addr_info: { local: string }[] }[])
        .flatMap((l) => l.addr_info.map((a) => a.local))
        .sort(),
    up: (node, ref, tap) => nicUp(exec(node), p.cluster, node, ref, tap, { faults }).line,
    down: (node, tap) => nicDown(exec(node), p.cluster, node, tap, { localOnly: true, faults }).line,
    close: () => run.cleanup(),
  };
}
