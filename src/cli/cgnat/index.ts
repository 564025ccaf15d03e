// convergent cgnat lookup|subscriber|export: the deterministic port blocks of a CGNAT spec, both ways.
// An abuse report names a public address, a port and a time; the spec in force at that time answers.
import type { Command } from '@commander-js/extra-typings';
import { exportCommand } from './export.ts';
import { lookupCommand } from './lookup.ts';
import { subscriberCommand } from './subscriber.ts';

export function cgnatCommand(program: Command): void {
  const cgnat = program.command('cgnat').description("a CGNAT spec's port blocks: who had which public port");
  lookupCommand(cgnat);
  subscriberCommand(cgnat);
  exportCommand(cgnat);
}
