// apply on lab nodes that other software got to first (issue 18): a foreign inet table, a bridge
// with an address, routes in the main table and a table of its own, policy rules (what Docker,
// libvirt or Neutron leave on a host). Each example's nodes are loaded by apply from nothing beside
// them, every check passes, a second apply changes nothing and runs no command that changes the
// node, and the foreign objects are as they were.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { apply } from '../../src/apply/engine.ts';
import { partsOf } from '../../src/apply/parts.ts';
import type { NamespaceRun } from '../../src/lab/netns.ts';
import type { Runner } from '../../src/lab/run.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { labUp, prepare, runChecks } from '../../src/systems/cluster/lab/lab.ts';
import { nodeIO } from '../../src/systems/cluster/lab/nodes.ts';
import { nodeDesired } from '../../src/systems/cluster/render.ts';
import { clusterExamples, exampleName } from '../support/examples.ts';
import { quiet } from '../support/lab-examples.ts';
import { failedNames } from '../support/report.ts';
import { needsRoot } from '../support/root.ts';

/** What other software leaves on a host, made before convergent's first apply. */
const FOREIGN = [
  'nft add table inet foreign_fw',
  "nft add chain inet foreign_fw forward '{ type filter hook forward priority 10; policy accept; }'",
  'nft add rule inet foreign_fw forward ct state established counter',
  'ip link add docker0 type bridge',
  'ip address add 172.17.0.1/16 dev docker0',
  'ip link set dev docker0 up',
  // Nowhere the lab's own addresses are (its upstream takes one of the TEST-NETs).
  'ip route add 100.99.0.0/24 dev docker0 proto static',
  'ip route add default dev docker0 table 200',
  'ip rule add pref 500 from 172.17.0.0/16 lookup 200',
  'ip -6 rule add pref 501 from fd00:17::/64 lookup 200',
];

/** The foreign objects as the node has them, in one text to compare. */
function foreign(lab: LabInstance, node: string): string {
  const sh = (script: string) =>
    lab.runner(['ip', 'netns', 'exec', lab.ns(node), 'sh', '-c', script]).stdout.trim();
  return [
    // -s: without the counters' values (the foreign chain counts the checks' traffic: it is in the path).
    sh('nft -s list table inet foreign_fw'),
    sh('ip -j link show dev docker0'),
    // IPv4: the kernel's own IPv6 link-local address is tentative at first (DAD).
    sh('ip -j -4 address show dev docker0'),
    sh('ip -j route show dev docker0; ip -j route show table 200; ip -j route show proto static'),
    sh('ip -j rule show pref 500; ip -j -6 rule show pref 501'),
  ].join('\n');
}

/** The command without the namespace around it: `ip -n NS ...` and `ip netns exec NS ...`. */
function inNode(argv: readonly string[]): readonly string[] {
  if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') return argv.slice(4);
  if (argv[0] === 'ip' && argv[1] === '-n') return ['ip', ...argv.slice(3)];
  return argv;
}

/** Whether a command can change the node: anything but ip's and nft's listings and reading /proc/sys. */
export function changesNode(argv: readonly string[]): boolean {
  const [cmd, ...rest] = inNode(argv);
  if (cmd === 'ip') return !rest.some((w) => w === 'show' || w === 'list');
  if (cmd === 'nft') return !rest.includes('list');
  if (cmd === 'sh' && rest[0] === '-c') return /[>]|\b(ip|nft|sysctl|tee|dd)\b/.test(rest[1] ?? '');
  return true;
}

// The cluster examples whose nodes need no VLAN or bond: this kernel has neither; the VM lab loads
// the others' nodes by the same engine (its `lab up`).
const EXAMPLES = clusterExamples().filter((f) =>
  prepare(f).plans.every((plan) => plan.links.every((l) => l.kind === 'nic')),
);

describe('apply beside other software, on every node of each example', () => {
  const runs: NamespaceRun[] = [];
  after(() => {
    for (const r of runs) r.cleanup();
  });

  test('the examples: this kernel runs most of them', () => {
    assert.ok(EXAMPLES.length >= 7, EXAMPLES.map(exampleName).join(', '));
  });

  for (const file of EXAMPLES)
    test(exampleName(file), async (t) => {
      if (!needsRoot(t)) return;
      const p = prepare(file);
      const name = exampleName(file);
      const before = new Map<string, string>();
      const { lab, run } = await labUp(p, {
        progress: quiet,
        beforeLoad: (l, node) => {
          const ns = l.ns(node);
          for (const line of FOREIGN) {
            const r = l.runner(['ip', 'netns', 'exec', ns, 'sh', '-c', line]);
            assert.equal(r.code, 0, `${node}: ${line}: ${r.stderr}`);
          }
          before.set(node, foreign(l, node));
        },
      });
      runs.push(run);
      try {
        const report = await runChecks(lab, p, quiet);
        assert.deepEqual(failedNames(report), [], `${name}: every check passes`);
        for (const plan of p.plans) {
          const ran: string[][] = [];
          const counting: Runner = (argv, options) => {
            ran.push([...argv]);
            return lab.runner(argv, options);
          };
          const outcome = await apply(
            nodeIO(lab, plan.node, counting),
            partsOf(() => []),
            nodeDesired(plan),
            {
              say: () => {},
              interrupted: () => undefined,
            },
          );
          assert.equal(outcome.kind, 'unchanged', `${plan.node}: a second apply changes nothing`);
          assert.ok(ran.length >= 5, `${plan.node}: apply read the node (${ran.length} commands)`);
          const changing = ran.filter(changesNode).map((a) => inNode(a).join(' '));
          assert.deepEqual(changing, [], `${plan.node}: no command that changes the node`);
          assert.equal(
            foreign(lab, plan.node),
            before.get(plan.node),
            `${plan.node}: foreign objects untouched`,
          );
        }
      } finally {
        run.cleanup();
      }
    });
});
