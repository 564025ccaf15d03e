// convergent render FILE [--node NAME] [--out DIR]: the files each node needs.
import type { Command } from '@commander-js/extra-typings';
import { readSpec, SYSTEMS } from '../systems/registry.ts';
import type { Rendered } from '../systems/system.ts';
import { action, UsageError } from './errors.ts';
import { writeNodeDirs } from './write.ts';

export function renderCommand(program: Command): void {
  program
    .command('render')
    .description("render the files each node needs (a CGNAT spec: its router's), printed or written to --out")
    .argument('<file>', 'spec (YAML): a cluster, or kind: cgnat')
    .option('--node <name>', 'only this node')
    .option('--out <dir>', 'write <dir>/<node>/... instead of printing')
    .addHelpText(
      'after',
      `\n${Object.values(SYSTEMS)
        .map((s) => s.filesHelp)
        .join('\n')}`,
    )
    .action(
      action(
        (file, options) => {
          const { system, spec } = readSpec(file);
          const unknown =
            options.node === undefined ? undefined : system.unknownHost(spec, options.node, file);
          if (unknown !== undefined) throw new UsageError(unknown);
          output(system.render(spec, options.node), options.out);
        },
        (_file, options) => (options.out ? 'nothing was written' : 'nothing was rendered'),
      ),
    );
}

/** Into <out>/<host>/..., all or nothing; or on stdout, each file under a header. */
function output(rendered: Rendered, out: string | undefined): void {
  if (out) {
    writeNodeDirs(out, rendered);
    process.stderr.write(`wrote ${[...rendered.keys()].map((n) => `${out}/${n}/`).join(', ')}\n`);
    return;
  }
  const parts: string[] = [];
  for (const [host, files] of rendered)
    for (const f of files) parts.push(parts.length ? '\n' : '', `==> ${host}/${f.path} <==\n`, ...f.chunks);
  process.stdout.write(parts.join(''));
}
