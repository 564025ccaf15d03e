// What the lab commands print: the report of the checks, and the next steps once a lab is up.
import { basename } from 'node:path';
import { failures, formatReport } from '../../lab/report.ts';
import type { LabReport } from '../../lab/result.ts';
import { ansibleEnv } from '../../systems/cluster/lab/ssh.ts';
import { colorFor } from '../color.ts';
import { EXIT } from '../errors.ts';

/** The report on stdout, and the exit status from the checks (after a cut too). */
export function printReport(report: LabReport, json: boolean): void {
  process.stdout.write(
    json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, colorFor(process.stdout)),
  );
  process.exitCode = failures(report) === 0 ? EXIT.ok : EXIT.failed;
}

/** The next steps, once a lab is up. */
/** `lab up --ssh`: how to run Ansible from the workstation with the lab's files alone. */
export function ansibleLine(dir: string): string {
  return (
    `  ansible: convergent lab exec --lab ${basename(dir)} workstation -- env ${ansibleEnv(dir).join(' ')} \\\n` +
    `           ansible-playbook contrib/ansible/rollout.yml -e convergent_spec=SPEC\n`
  );
}

export function upMessage(id: string, what: string, hosts: readonly string[], first: string): string {
  return (
    `lab ${id} is up ${what}\n` +
    `  hosts: ${hosts.join(', ')}\n` +
    `  run:   convergent lab exec --lab ${id} ${first} -- nft list ruleset\n` +
    `         convergent lab check ${id}\n` +
    `  stop:  convergent lab down ${id}\n`
  );
}
