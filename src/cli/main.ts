#!/usr/bin/env node
// convergent: one cluster spec -> each node's host networking, proven before it reaches a host.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { applyCommands } from './apply/index.ts';
import { cgnatCommand } from './cgnat/index.ts';
import { checkCommand } from './check.ts';
import { doctorCommand } from './doctor/index.ts';
import { EXIT, endQuietlyOnClosedPipe } from './errors.ts';
import { labCommand } from './lab/index.ts';
import { nicCommand } from './nic/index.ts';
import { renderCommand } from './render.ts';
import { schemaCommand } from './schema.ts';

const program = new Command()
  .name('convergent')
  .description('Host networking for Linux virtualization clusters whose nodes are the network.')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError();

endQuietlyOnClosedPipe();
checkCommand(program);
renderCommand(program);
applyCommands(program);
labCommand(program);
schemaCommand(program);
cgnatCommand(program);
doctorCommand(program);
nicCommand(program);

// No top-level await: the VM lab runs this file bundled as CommonJS (scripts/bundle.mjs).
program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Help and version end with 0; every other commander error is a usage error.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  throw err;
});
