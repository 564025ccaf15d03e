// Rendered files into a lab's directory, as an operator copies them onto a host.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A file as the renderers give it: a relative path and its text in chunks. */
export interface FileText {
  readonly path: string;
  readonly chunks: readonly string[];
}

export function writeFiles(dir: string, files: readonly FileText[]): void {
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.chunks.join(''));
  }
}
