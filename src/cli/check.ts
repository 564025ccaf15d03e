// convergent check FILE: validate a spec and say what it describes.
import type { Command } from '@commander-js/extra-typings';
import { describeCgnat } from '../systems/cgnat/compile/blocks.ts';
import { readAnySpec } from '../systems/read.ts';
import { plural } from '../util/plural.ts';
import { reportAndExit } from './errors.ts';

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('validate a spec (a cluster, or kind: cgnat): every problem with file:line:column and a fix')
    .argument('<file>', 'spec (YAML)')
    .action((file) => {
      try {
        const spec = readAnySpec(file);
        if (spec.kind === 'cgnat') {
          process.stdout.write(`${file}: ok: ${describeCgnat(spec.cgnat)}\n`);
          return;
        }
        const cluster = spec.cluster;
        const tags = cluster.nodes.map((n) => `${n.name}=${n.tag}${n.tagAllocated ? '*' : ''}`).join(' ');
        process.stdout.write(
          `${file}: ok: cluster ${cluster.name}, ${plural(cluster.nodes.length, 'node')}, ${plural(cluster.networks.length, 'network')}, ` +
            `${plural(cluster.guests.length, 'guest')}, ${plural(cluster.forwards.length, 'forward')}\n` +
            `node tags: ${tags}${cluster.nodes.some((n) => n.tagAllocated) ? '  (* allocated: pin with "tag:" to keep them when nodes are removed)' : ''}\n`,
        );
      } catch (err) {
        reportAndExit(err);
      }
    });
}
