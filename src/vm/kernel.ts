// The Debian kernels a VM lab can boot: an image in /boot with its modules in /lib/modules, both
// from a linux-image-* package (apt-get install linux-image-amd64). Never a download of another kind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../lab/errors.ts';

export interface Kernel {
  /** "6.1.0-56-amd64", as uname -r says inside the VM. */
  readonly version: string;
  readonly image: string;
  readonly modules: string;
}

const BOOT = '/boot';
const MODULES = '/lib/modules';

export function installedKernels(): Kernel[] {
  if (!existsSync(BOOT)) return [];
  return readdirSync(BOOT)
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join(MODULES, v, 'modules.dep')))
    .sort(compareVersions)
    .map((version) => ({
      version,
      image: join(BOOT, `vmlinuz-${version}`),
      modules: join(MODULES, version),
    }));
}

/** "6.1.0-56-amd64" sorts before "6.12.9-amd64": numbers compare as numbers. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

const INSTALL = 'install one with: apt-get install linux-image-amd64 (Debian packages only)';

/** The kernels asked for, by full version or a prefix ("6.1"); the newest installed by default. */
export function pickKernels(requested: readonly string[]): Kernel[] {
  const installed = installedKernels();
  if (installed.length === 0)
    throw new LabError(`no kernel image in ${BOOT} with modules in ${MODULES}; ${INSTALL}`);
  if (requested.length === 0) {
    // The newest that can mount this machine's root over 9p (Debian's cloud flavour cannot).
    const usable = installed.filter((k) =>
      readFileSync(join(k.modules, 'modules.dep'), 'utf8').includes('/9p.ko:'),
    );
    if (usable.length === 0)
      throw new LabError(
        `no installed kernel has 9p (installed: ${installed.map((k) => k.version).join(', ')}); ${INSTALL}`,
      );
    return [usable.at(-1) as Kernel];
  }
  return requested.map((want) => {
    const exact = installed.find((k) => k.version === want);
    const prefixed = installed.filter(
      (k) => k.version.startsWith(`${want}.`) || k.version.startsWith(`${want}-`),
    );
    const found = exact ?? prefixed.at(-1);
    if (!found)
      throw new LabError(
        `kernel ${want} is not installed; installed: ${installed.map((k) => k.version).join(', ')}; ${INSTALL}`,
      );
    return found;
  });
}
