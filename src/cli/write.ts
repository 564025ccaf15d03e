// Writes rendered files all-or-nothing: everything goes to a fresh directory beside the target,
// which then replaces each node's directory by rename. A failure leaves the old output untouched.
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { RenderedFile } from '../render/files.ts';

export function writeNodeDirs(outDir: string, nodes: ReadonlyMap<string, readonly RenderedFile[]>): void {
  const target = resolve(outDir);
  mkdirSync(target, { recursive: true });
  const staging = mkdtempSync(join(target, '.convergent-'));
  try {
    for (const [node, files] of nodes) {
      for (const file of files) {
        const path = join(staging, node, file.path);
        mkdirSync(dirname(path), { recursive: true });
        const fd = openSync(path, 'w');
        try {
          for (const chunk of file.chunks) writeSync(fd, chunk);
        } finally {
          closeSync(fd);
        }
      }
    }
    for (const node of nodes.keys()) {
      const final = join(target, node);
      rmSync(final, { recursive: true, force: true });
      renameSync(join(staging, node), final);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
