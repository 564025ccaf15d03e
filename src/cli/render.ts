// convergent render FILE [--node NAME] [--out DIR]: the files each node needs.
import type { Command } from '@commander-js/extra-typings';
import { compileCgnat } from '../systems/cgnat/compile/index.ts';
import { renderCgnat } from '../systems/cgnat/render.ts';
import { compiler } from '../systems/cluster/compile/index.ts';
import { FILES, type RenderedFile, renderNode } from '../systems/cluster/render.ts';
import { readAnySpec } from '../systems/read.ts';
import { reportAndExit, UsageError } from './errors.ts';
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
      `
Files of a cluster node:
  ${FILES.nftables.padEnd(32)}the ruleset (nft -f)
  ${FILES.ipBatch.padEnd(32)}bridges, pipes, addresses, routes (ip -batch)
  ${FILES.sysctl.padEnd(32)}forwarding, ARP announce (sysctl -p)
  ${FILES.modules.padEnd(32)}kernel modules at boot (br_netfilter for stateless)
  ${FILES.haproxy.padEnd(32)}HTTP reverse proxies, when the spec has proxies
  ${FILES.conntrackd.padEnd(32)}conntrackd, for strategy ctsync
Files of a CGNAT router (kind: cgnat):
  ${FILES.nftables}, ${FILES.ipBatch}, rules6.ip (IPv6), ${FILES.sysctl}, ${FILES.modules};
  backend netns also namespaces.ip, netns/<tenant>.ip and netns/<tenant>.sysctl.conf`,
    )
    .action((file, options) => {
      try {
        const spec = readAnySpec(file);
        if (spec.kind === 'cgnat') {
          const { cgnat } = spec;
          if (options.node !== undefined && options.node !== cgnat.router)
            throw new UsageError(
              `no host "${options.node}" in ${file}; a CGNAT spec renders its router, ${cgnat.router}`,
            );
          const rendered = new Map([[cgnat.router, renderCgnat(compileCgnat(cgnat))]]);
          output(rendered, options.out);
          return;
        }
        const cluster = spec.cluster;
        const c = compiler(cluster);
        const nodes = options.node ? c.nodes.filter((n) => n.name === options.node) : c.nodes;
        if (nodes.length === 0) {
          throw new UsageError(
            `no node "${options.node}" in ${file}; nodes: ${c.nodes.map((n) => n.name).join(', ')}`,
          );
        }
        const rendered = new Map<string, RenderedFile[]>();
        for (const node of nodes) rendered.set(node.name, renderNode(c.compileNode(node)));
        output(rendered, options.out);
      } catch (err) {
        reportAndExit(err, options.out ? 'nothing was written' : 'nothing was rendered');
      }
    });
}

/** Into <out>/<host>/..., all or nothing; or on stdout, each file under a header. */
function output(rendered: ReadonlyMap<string, readonly RenderedFile[]>, out: string | undefined): void {
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
