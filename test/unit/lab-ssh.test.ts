// `lab up --ssh` without root: refused where it does not go (a CGNAT spec, --vm), and what it needs
// (sshd, ssh-keygen, ansible-playbook) named with their packages, only when asked for.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { installLine } from '../../src/lab/preflight.ts';
import { readSpec } from '../../src/systems/registry.ts';
import { convergent } from '../support/cli.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const example = (name: string) => join(EXAMPLES_DIR, `${name}.yaml`);

test('lab up --ssh is refused with a CGNAT spec and with --vm, before anything is built', () => {
  const cgnat = convergent('lab', 'up', '--ssh', example('cgnat-demo'));
  assert.equal(cgnat.code, 2, cgnat.stderr);
  assert.match(cgnat.stderr, /--ssh goes with a cluster spec/);
  const vm = convergent('lab', 'up', '--ssh', '--vm', example('ring3-stateless'));
  assert.equal(vm.code, 2, vm.stderr);
  assert.match(vm.stderr, /--ssh goes without --vm/);
});

test('a cluster lab needs sshd, ssh-keygen and ansible-playbook only with --ssh, from their packages', () => {
  const file = example('ring3-stateless');
  const { system, spec } = readSpec(file);
  const needs = (ssh: boolean) =>
    system.lab
      .prepare(spec, file, [], { ssh })
      .needs(false)
      .needs.map((r) => r.need);
  const extra = ['sshd', 'ssh-keygen', 'ansible-playbook'] as const;
  for (const need of extra) {
    assert.ok(needs(true).includes(need), need);
    assert.ok(!needs(false).includes(need), need);
  }
  assert.equal(installLine([...extra]), 'apt-get install openssh-server openssh-client ansible-core');
});
