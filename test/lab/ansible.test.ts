// The Ansible rollout (contrib/ansible) from the lab's workstation, over real SSH to each node's own
// sshd (`lab up --ssh`): ring3's three nodes, one at a time, each applied by `convergent apply
// --confirm-within` in its namespace (state and root in its lab directory), checked, then confirmed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { labDir } from '../../src/lab/registry.ts';
import { ansibleArgv } from '../../src/systems/cluster/lab/ssh.ts';
import { convergent, MAIN } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const PLAYBOOK = join(import.meta.dirname, '..', '..', 'contrib', 'ansible', 'rollout.yml');
const ring3 = join(EXAMPLES_DIR, 'ring3-stateless.yaml');
const NODES = ['node1', 'node2', 'node3'];
const tmp = mkdtempSync(join(tmpdir(), 'convergent-ansible-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** ring3 edited: `edits` are [from, to] replacements, each of which must match. */
function specWith(name: string, edits: readonly (readonly [string, string])[]): string {
  let text = readFileSync(ring3, 'utf8');
  for (const [from, to] of edits) {
    assert.ok(text.includes(from), from);
    text = text.replace(from, to);
  }
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

const FORWARD = '  - { port: 80, to: guest1 }\n';
/** node3's tag changed (every node's tag map) and a new forward: what every node gets. */
const CHANGED: [string, string][] = [
  ['node3: { address: 192.168.122.13, tag: 3 }', 'node3: { address: 192.168.122.13, tag: 7 }'],
  [FORWARD, `${FORWARD}  - { port: 8080, to: guest2, toPort: 80 }\n`],
];

/** A node's live network, as `ip` and `nft` show it: what a rollback must restore, what "untouched" keeps. */
function liveState(ns: string) {
  const run = (...argv: string[]) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const json = (...args: string[]) => JSON.parse(run('ip', '-j', ...args)) as Record<string, unknown>[];
  // Tables in any order (a restored table is listed last), counters as they were at zero.
  const tables = run('nft', 'list', 'ruleset')
    .replace(/counter packets \d+ bytes \d+/g, 'counter')
    .split(/^(?=table )/m)
    .sort();
  const links = json('link', 'show').map(
    (l) => `${l.ifname} ${l.master ?? '-'} ${l.operstate} mtu ${l.mtu} ${l.address}`,
  );
  const addresses = json('address', 'show').flatMap((l) =>
    ((l.addr_info ?? []) as { local: string; prefixlen: number }[]).map(
      (a) => `${l.ifname} ${a.local}/${a.prefixlen}`,
    ),
  );
  const routes = [
    ...json('route', 'show', 'table', 'all'),
    ...json('-6', 'route', 'show', 'table', 'all'),
  ].map((r) => JSON.stringify(r));
  const rules = json('rule', 'show').map((r) => JSON.stringify(r));
  return { tables, links: links.sort(), addresses: addresses.sort(), routes: routes.sort(), rules };
}

/** Each host's line of the PLAY RECAP: ok, changed, failed... */
function recap(stdout: string): Map<string, Record<string, number>> {
  const rows = new Map<string, Record<string, number>>();
  for (const line of stdout.slice(stdout.lastIndexOf('PLAY RECAP')).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line);
    const counts = [...(m?.[2] ?? '').matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1], Number(x[2])]);
    if (m) rows.set(m[1] as string, Object.fromEntries(counts));
  }
  return rows;
}

test('ansible-playbook rolls a spec out node by node over SSH; a second run changes nothing; node2 failing stops it there', (t) => {
  if (!needsRoot(t, 'sshd', 'ssh-keygen', 'ansible-playbook')) return;
  const up = convergent('lab', 'up', '--ssh', ring3);
  assert.equal(up.code, 0, up.stderr);
  const id = /^lab (cvg-\d+-[0-9a-f]{4}) is up/m.exec(up.stdout)?.[1];
  assert.ok(id, up.stdout);
  const dir = labDir(id);
  const lab = { dir, ns: (host: string) => `${id}-${host}` };
  const nodeDir = (node: string, ...path: string[]) => join(dir, 'nodes', node, ...path);
  const play = (spec: string) => {
    const [cmd, ...args] = ansibleArgv(lab, [PLAYBOOK, '-e', `convergent_spec=${spec}`]);
    const r = spawnSync(cmd as string, args, { encoding: 'utf8', timeout: 600_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}`, recap: recap(r.stdout) };
  };
  /** `convergent diff` run on the node itself, as the role runs it. */
  const differs = (node: string, spec: string) =>
    spawnSync(
      'ip',
      [
        'netns',
        'exec',
        lab.ns(node),
        process.execPath,
        '--import',
        'tsx',
        MAIN,
        'diff',
        spec,
        '--node',
        node,
        '--state',
        nodeDir(node, 'state'),
        '--root',
        nodeDir(node, 'root'),
      ],
      { encoding: 'utf8' },
    ).status;
  const installed = (node: string) =>
    readFileSync(nodeDir(node, 'root', 'etc', 'convergent', 'nftables.conf'), 'utf8');
  const applied = (node: string) => readFileSync(nodeDir(node, 'state', 'applied.json'), 'utf8');
  const awaiting = (node: string) => existsSync(nodeDir(node, 'state', 'journal.json'));
  try {
    assert.match(up.stderr, /sshd listening on node1 \(192\.168\.122\.11:22\), node2 .*, node3 /);
    assert.match(
      up.stdout,
      /ansible: convergent lab exec --lab cvg-\d+-[0-9a-f]{4} workstation -- env ANSIBLE_CONFIG=/,
    );

    // A spec convergent check refuses (two stateless forwards to guest1:80) stops before any node.
    const refused = play(
      specWith('refused', [[FORWARD, `${FORWARD}  - { port: 8080, to: guest1, toPort: 80 }\n`]]),
    );
    assert.notEqual(refused.code, 0, refused.out);
    assert.match(
      refused.out,
      /refused\.yaml:\d+:\d+: error: stateless forwards\[0\] and forwards\[1\] both lead to guest1 tcp\/80/,
    );
    assert.deepEqual([...refused.recap.keys()], ['localhost']);
    for (const node of NODES) assert.equal(existsSync(nodeDir(node, 'rollout')), false);

    const changed = specWith('changed', CHANGED);
    const first = play(changed);
    assert.equal(first.code, 0, first.out);
    for (const node of NODES) {
      assert.equal(first.recap.get(node)?.failed, 0, first.out);
      assert.equal(differs(node, changed), 0, node);
      assert.equal(awaiting(node), false, `${node} confirmed`);
      // The tag change and the new forward reach every node.
      assert.match(installed(node), /0x00000007 comment "nodes\.node3"/);
      assert.match(installed(node), /tcp \. 8080 comment "forwards\[1\] tcp\/8080 -> guest2:80"/);
      assert.ok(existsSync(nodeDir(node, 'rollout', 'rendered', 'nftables.conf')));
    }
    // One node at a time, in the inventory's order, each confirmed before the next is applied.
    const steps = [
      ...first.out.matchAll(
        /^TASK \[convergent_node : (Apply with|Confirm)[^\n]*\n(?:[^\n]*\n)*?changed: \[(node\d)\]/gm,
      ),
    ];
    assert.deepEqual(
      steps.map((m) => `${m[1]} ${m[2]}`),
      NODES.flatMap((n) => [`Apply with ${n}`, `Confirm ${n}`]),
    );

    const before = new Map(NODES.map((n) => [n, applied(n)]));
    const second = play(changed);
    assert.equal(second.code, 0, second.out);
    for (const host of [...NODES, 'localhost']) assert.equal(second.recap.get(host)?.changed, 0, second.out);
    for (const node of NODES) assert.equal(applied(node), before.get(node), `${node} was not applied again`);

    // One more forward for everyone, and node2's uplink bridge on VLAN 7, which the upstream does not
    // carry: on a kernel with 802.1Q its health check finds the gateway gone, on one without (this
    // machine's) creating eth0.7 fails; either way node2's apply rolls it back and exits 6.
    const broken = specWith('broken', [
      ...CHANGED,
      [FORWARD, `${FORWARD}  - { port: 8081, to: guest3, toPort: 80 }\n`],
      [
        'node2: { address: 192.168.122.12, tag: 2 }',
        'node2: { address: 192.168.122.12, tag: 2, uplink: { bridge: xenbr0, ports: [eth0.7] }, interfaces: { eth0: {}, eth0.7: {} } }',
      ],
    ]);
    const node2 = { installed: installed('node2'), live: liveState(lab.ns('node2')) };
    const node3 = {
      applied: applied('node3'),
      installed: installed('node3'),
      live: liveState(lab.ns('node3')),
    };
    const third = play(broken);
    assert.notEqual(third.code, 0, third.out);
    assert.match(
      third.out,
      /node2 failed Apply with a confirm window \(convergent apply --confirm-within\) and was rolled back \(node2: rolled back to the state before: /,
    );
    assert.equal(third.recap.get('node1')?.failed, 0, third.out);
    assert.equal(third.recap.get('node2')?.failed, 1, third.out);
    assert.equal(third.recap.get('node3'), undefined, third.out); // never reached
    assert.equal(differs('node1', broken), 0, 'node1 has the new spec');
    assert.equal(awaiting('node1'), false, 'node1 confirmed');
    assert.deepEqual(
      { installed: installed('node2'), live: liveState(lab.ns('node2')) },
      node2,
      'node2 rolled back',
    );
    assert.equal(awaiting('node2'), false, 'node2 has nothing awaiting');
    assert.deepEqual(
      { applied: applied('node3'), installed: installed('node3'), live: liveState(lab.ns('node3')) },
      node3,
      'node3 untouched',
    );

    // Back to the lab's own spec by the same rollout (lab apply does not change tags): its checks hold.
    const back = play(ring3);
    assert.equal(back.code, 0, back.out);
    for (const node of NODES) {
      assert.equal(back.recap.get(node)?.failed, 0, back.out);
      assert.equal(differs(node, ring3), 0, node);
    }
    const check = convergent('lab', 'check', id);
    assert.equal(check.code, 0, check.stdout);
  } finally {
    const down = convergent('lab', 'down', id);
    assert.equal(down.code, 0, down.stderr);
  }
  assert.equal(existsSync(dir), false);
});
