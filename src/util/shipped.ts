// The helper scripts convergent ships (package.json "files"), found from the module that runs them:
// next to it in src/, or under the package root from dist/ and from the bundle
// (dist/bundle/convergent.cjs), which sit at other depths.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `shipped` is the file's path in the package (src/...); `from` is the caller's import.meta.url. */
export function shippedFile(shipped: string, from: string): string | undefined {
  let dir = dirname(fileURLToPath(from));
  if (existsSync(join(dir, basename(shipped)))) return join(dir, basename(shipped));
  for (let up = 0; up < 6; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, shipped))) return join(dir, shipped);
  }
  return undefined;
}
