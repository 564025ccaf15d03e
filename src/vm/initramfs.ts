// The VM's initramfs: a static busybox, the modules that mount the host's root over virtio-9p, and
// an init that makes that root the VM's own (read-only 9p below, tmpfs above, through overlayfs),
// then runs the job the host left in the shared run directory. Built per run, in that directory.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LabError } from '../lab/errors.ts';
import { PT_INTERP, programHeaders } from './elf.ts';
import type { Kernel } from './kernel.ts';

/** Where the VM finds the run directory (the 9p share `vmrun`), and the job in it. */
export const VM_RUN = '/run/vm';
export const JOB = 'job.sh';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'];
// virtio-pci carries 9p; overlay makes the read-only host root writable in the VM's memory.
const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

// The init runs in busybox alone. 9p with cache=loose: the host root does not change under a run.
const INIT = `#!/bin/busybox sh
bb=/bin/busybox
$bb mkdir -p /proc /sys /dev /lower /layer /newroot
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in $($bb cat /modules); do $bb insmod /mods/$m || echo "convergent-vm: insmod $m failed" >/dev/ttyS1; done
$bb mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower
$bb mount -t tmpfs -o mode=755 tmpfs /layer
$bb mkdir -p /layer/upper /layer/work
$bb mount -t overlay -o lowerdir=/lower,upperdir=/layer/upper,workdir=/layer/work overlay /newroot
# The VM's own /run: the host's (its labs, its netns files) means nothing in here.
$bb mount -t tmpfs -o mode=755 tmpfs /newroot/run
$bb mkdir -p /newroot${VM_RUN}
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmrun /newroot${VM_RUN}
$bb mount --move /proc /newroot/proc
$bb mount --move /sys /newroot/sys
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot /bin/sh ${VM_RUN}/${JOB}
`;

/** A 64-bit ELF with a PT_INTERP program header needs a loader and libc, which the initramfs lacks. */
function isStaticElf(path: string): boolean {
  const headers = programHeaders(readFileSync(path));
  return headers.length > 0 && !headers.some((h) => h.type === PT_INTERP);
}

/** The static busybox the initramfs carries (apt-get install busybox-static). */
export function staticBusybox(): string {
  for (const path of BUSYBOX) if (existsSync(path) && isStaticElf(path)) return path;
  throw new LabError(
    'the VM lab needs a static busybox for its initramfs; install it: apt-get install busybox-static',
  );
}

/** Module files for the boot modules and their dependencies, in load order. */
function bootModules(kernel: Kernel): string[] {
  const files: string[] = [];
  for (const name of BOOT_MODULES) {
    const r = spawnSync('modprobe', ['-S', kernel.version, '--show-depends', name], { encoding: 'utf8' });
    if (r.status !== 0)
      throw new LabError(
        `kernel ${kernel.version} has no module ${name}, which the VM lab needs to mount this machine's root over virtio-9p (Debian's cloud flavour has no 9p; linux-image-amd64 has)`,
      );
    for (const line of r.stdout.split('\n')) {
      const m = /^insmod (\S+)/.exec(line);
      if (m && !files.includes(m[1] as string)) files.push(m[1] as string);
    }
  }
  return files;
}

/** Writes <dir>/initramfs/… and returns the path of the gzipped cpio archive. */
export function buildInitramfs(kernel: Kernel, dir: string): string {
  const root = join(dir, 'initramfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'mods'), { recursive: true });
  const busybox = staticBusybox();
  copyFileSync(busybox, join(root, 'bin', 'busybox'));
  const modules = bootModules(kernel);
  for (const m of modules) copyFileSync(m, join(root, 'mods', basename(m)));
  writeFileSync(join(root, 'modules'), `${modules.map((m) => basename(m)).join('\n')}\n`);
  writeFileSync(join(root, 'init'), INIT, { mode: 0o755 });
  const list = [
    '.',
    'bin',
    'bin/busybox',
    'mods',
    ...modules.map((m) => `mods/${basename(m)}`),
    'modules',
    'init',
  ];
  const cpio = spawnSync(busybox, ['cpio', '-o', '-H', 'newc'], {
    cwd: root,
    input: `${list.join('\n')}\n`,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (cpio.status !== 0) throw new LabError(`busybox cpio failed: ${cpio.stderr.toString().trim()}`);
  const image = join(dir, 'initramfs.cpio.gz');
  writeFileSync(image, gzipSync(cpio.stdout, { level: 1 }));
  return image;
}
