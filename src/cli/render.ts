// convergent render FILE [--node NAME] [--out DIR]: the files each node needs.
import type { Command } from '@commander-js/extra-typings';
import { compiler } from '../compile/index.ts';
import { type RenderedFile, renderNode } from '../render/files.ts';
import { readCluster } from '../spec/read.ts';
import { reportAndExit, UsageError } from './errors.ts';
import { writeNodeDirs } from './write.ts';

export function renderCommand(program: Command): void {
  program
    .command('render')
    .description("render each node's nftables.conf, network.ip (ip -batch) and sysctl.d snippet")
    .argument('<file>', 'cluster spec (YAML)')
    .option('--node <name>', 'only this node')
    .option('--out <dir>', 'write <dir>/<node>/... instead of printing')
    .action((file, options) => {
      try {
        const cluster = readCluster(file);
        const c = compiler(cluster);
        const nodes = options.node ? c.nodes.filter((n) => n.name === options.node) : c.nodes;
        if (nodes.length === 0) {
          throw new UsageError(
            `no node "${options.node}" in ${file}; nodes: ${c.nodes.map((n) => n.name).join(', ')}`,
          );
        }
        const rendered = new Map<string, RenderedFile[]>();
        for (const node of nodes) rendered.set(node.name, renderNode(c.compileNode(node)));
        if (options.out) {
          writeNodeDirs(options.out, rendered);
          process.stderr.write(
            `wrote ${[...rendered.keys()].map((n) => `${options.out}/${n}/`).join(', ')}\n`,
          );
          return;
        }
        const parts: string[] = [];
        for (const [node, files] of rendered) {
          for (const f of files)
            parts.push(parts.length ? '\n' : '', `==> ${node}/${f.path} <==\n`, ...f.chunks);
        }
        process.stdout.write(parts.join(''));
      } catch (err) {
        reportAndExit(err);
      }
    });
}
