// The Ansible rollout (contrib/ansible) from the lab's workstation, over real SSH to each node's own
// sshd (`lab up --ssh`): ring3's three nodes, one at a time. Until `convergent apply` lands, its
// engine is a stand-in (test/support/apply-standin.sh) with the same interface and exit statuses:
// what this proves is the plumbing (SSH, the inventory, the playbook's order, stop and recap).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { labDir } from '../../src/lab/registry.ts';
import { ansibleArgv, sshPaths } from '../../src/systems/cluster/lab/ssh.ts';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PLAYBOOK = join(ROOT, 'contrib', 'ansible', 'rollout.yml');
const STANDIN = join(ROOT, 'test', 'support', 'apply-standin.sh');
const ring3 = join(EXAMPLES_DIR, 'ring3-stateless.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'convergent-ansible-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** ring3 with node3's tag changed (every node's tag map) and a new forward to `guest`:80. */
function changedSpec(name: string, guest: string): string {
  const text = readFileSync(ring3, 'utf8')
    .replace('node3: { address: 192.168.122.13, tag: 3 }', 'node3: { address: 192.168.122.13, tag: 7 }')
    .replace(
      '  - { port: 80, to: guest1 }\n',
      `  - { port: 80, to: guest1 }\n  - { port: 8080, to: ${guest}, toPort: 80 }\n`,
    );
  assert.notEqual(text, readFileSync(ring3, 'utf8'));
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Each host's line of the PLAY RECAP: ok, changed, failed... */
function recap(stdout: string): Map<string, Record<string, number>> {
  const rows = new Map<string, Record<string, number>>();
  const at = stdout.lastIndexOf('PLAY RECAP');
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line);
    if (m)
      rows.set(
        m[1] as string,
        Object.fromEntries([...(m[2] as string).matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1], Number(x[2])])),
      );
  }
  return rows;
}

test('ansible-playbook rolls a spec out node by node over SSH; a second run changes nothing; a node that fails stops it there', (t) => {
  if (!needsRoot(t, 'sshd', 'ssh-keygen', 'ansible-playbook')) return;
  const up = convergent('lab', 'up', '--ssh', ring3);
  assert.equal(up.code, 0, up.stderr);
  const id = /^lab (cvg-\d+-[0-9a-f]{4}) is up/m.exec(up.stdout)?.[1];
  assert.ok(id, up.stdout);
  const dir = labDir(id);
  const lab = { dir, ns: (host: string) => `${id}-${host}` };
  try {
    assert.match(up.stderr, /sshd listening on node1 \(192\.168\.122\.11:22\), node2 .*, node3 /);
    assert.match(up.stdout, /ansible: convergent lab exec workstation -- env ANSIBLE_CONFIG=/);
    const inventory = parse(readFileSync(sshPaths(dir).inventory, 'utf8')) as {
      all: { vars: { convergent_command: string[] } };
    };
    const command = ['/bin/sh', STANDIN, ...inventory.all.vars.convergent_command, '--'];
    const play = (spec: string) => {
      const [cmd, ...args] = ansibleArgv(lab, [
        PLAYBOOK,
        '-e',
        JSON.stringify({ convergent_spec: spec, convergent_command: command }),
      ]);
      const r = spawnSync(cmd as string, args, { encoding: 'utf8', timeout: 300_000 });
      return { code: r.status, out: `${r.stdout}${r.stderr}`, recap: recap(r.stdout) };
    };
    const state = (node: string, file: string) => join(dir, 'nodes', node, 'state', file);
    const applied = (node: string) => readFileSync(state(node, 'applied.yaml'), 'utf8');
    const log = (node: string) => readFileSync(state(node, 'log'), 'utf8');

    // A spec convergent check refuses (two stateless forwards to guest1:80) stops before any node.
    const refused = play(changedSpec('ring3-refused', 'guest1'));
    assert.notEqual(refused.code, 0, refused.out);
    assert.match(
      refused.out,
      /ring3-refused\.yaml:\d+:\d+: error: stateless forwards\[0\] and forwards\[1\] both lead to guest1 tcp\/80/,
    );
    assert.deepEqual([...refused.recap.keys()], ['localhost']);
    for (const node of ['node1', 'node2', 'node3'])
      assert.equal(existsSync(join(dir, 'nodes', node, 'rollout')), false);

    const changed = changedSpec('ring3-changed', 'guest2');
    const first = play(changed);
    assert.equal(first.code, 0, first.out);
    for (const node of ['node1', 'node2', 'node3']) {
      assert.equal(first.recap.get(node)?.failed, 0, first.out);
      assert.ok((first.recap.get(node)?.changed ?? 0) >= 2, first.out); // the copies, apply, confirm
      assert.equal(applied(node), readFileSync(changed, 'utf8'));
      assert.equal(log(node), 'apply\nconfirm\n');
      assert.ok(existsSync(join(dir, 'nodes', node, 'rollout', 'rendered', 'nftables.conf')));
    }
    // One node at a time, in the inventory's order, each confirmed before the next is applied.
    const order = [
      ...first.out.matchAll(
        /^TASK \[convergent_node : (Apply with|Confirm)[^\n]*\n(?:[^\n]*\n)*?(?:changed|ok): \[(node\d)\]/gm,
      ),
    ].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(order, [
      'Apply with node1',
      'Confirm node1',
      'Apply with node2',
      'Confirm node2',
      'Apply with node3',
      'Confirm node3',
    ]);

    const second = play(changed);
    assert.equal(second.code, 0, second.out);
    for (const node of ['node1', 'node2', 'node3', 'localhost'])
      assert.equal(second.recap.get(node)?.changed, 0, second.out);
    for (const node of ['node1', 'node2', 'node3']) assert.equal(log(node), 'apply\nconfirm\n');

    const broken = join(tmp, 'ring3-broken.yaml');
    writeFileSync(broken, `${readFileSync(ring3, 'utf8')}# stand-in: break node2\n`);
    const node3Before = applied('node3');
    const third = play(broken);
    assert.notEqual(third.code, 0, third.out);
    assert.match(
      third.out,
      /node2 failed Apply with a confirm window .* and was rolled back \(apply: node2: its uplink gateway does not answer; rolled back\)/,
    );
    assert.equal(third.recap.get('node1')?.failed, 0, third.out);
    assert.equal(third.recap.get('node2')?.failed, 1, third.out);
    assert.equal(third.recap.get('node3'), undefined, third.out); // never reached
    assert.equal(applied('node1'), readFileSync(broken, 'utf8'));
    assert.equal(log('node1'), 'apply\nconfirm\napply\nconfirm\n');
    assert.equal(applied('node2'), readFileSync(changed, 'utf8'));
    assert.equal(log('node2'), 'apply\nconfirm\napply rolled-back\n');
    assert.equal(applied('node3'), node3Before);
    assert.equal(log('node3'), 'apply\nconfirm\n');

    const check = convergent('lab', 'check', id);
    assert.equal(check.code, 0, check.stdout);
  } finally {
    const down = convergent('lab', 'down', id);
    assert.equal(down.code, 0, down.stderr);
  }
  assert.equal(existsSync(dir), false);
});
