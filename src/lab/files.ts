// Rendered files into a lab's directory, as an operator copies them onto a host.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type RenderedFile, textOf } from '../host/files.ts';

export function writeFiles(dir: string, files: readonly RenderedFile[]): void {
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, textOf(file));
  }
}
