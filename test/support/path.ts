// A machine without some Debian tools, simulated: a PATH of symlinks to every command in the
// system's directories except the ones left out. Nothing is uninstalled.
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A directory to use as PATH, holding every system command but `without`; remove() deletes it. */
export function pathWithout(without: readonly string[]): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'convergent-path-'));
  const linked = new Set(without);
  for (const system of SYSTEM_DIRS) {
    if (!existsSync(system)) continue;
    for (const name of readdirSync(system)) {
      if (linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(system, name), join(dir, name));
    }
  }
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
