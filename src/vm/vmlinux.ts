// The image qemu boots. Debian's /boot/vmlinuz is a bzImage whose kernel is XZ-compressed: under
// qemu's emulated CPU the kernel's own decompressor and the real-mode setup take about 4 s of an
// 8 s boot. Debian builds its kernels with CONFIG_PVH, so the ELF inside can be started directly at
// its PVH entry point: the host decompresses it natively (0.8 s) into the run directory and qemu
// loads that. An image without the PVH note, or compressed some other way, boots as a bzImage.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PT_NOTE, programHeaders } from './elf.ts';

export const VMLINUX = 'vmlinux';
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit entry point qemu's PVH boot jumps to. */
const PVH_NOTE_TYPE = 18;

/** The uncompressed kernel of `bzImage` as a PVH-bootable ELF in `dir`, or the bzImage itself. */
export function bootImage(bzImage: string, dir: string): string {
  const image = readFileSync(bzImage);
  const at = image.indexOf(XZ_MAGIC);
  if (at < 0) return bzImage;
  // --single-stream: the bzImage goes on after the XZ stream, and that tail is not XZ.
  const xz = spawnSync('xz', ['-dc', '--single-stream'], {
    input: image.subarray(at),
    maxBuffer: 512 * 1024 * 1024,
  });
  if (xz.status !== 0 || !hasPvhEntry(xz.stdout)) return bzImage;
  const path = join(dir, VMLINUX);
  writeFileSync(path, xz.stdout);
  return path;
}

/** An ELF with a Xen PHYS32_ENTRY note among its PT_NOTE segments. */
export function hasPvhEntry(elf: Buffer): boolean {
  for (const { type, offset, size } of programHeaders(elf)) {
    if (type !== PT_NOTE) continue;
    // Notes: namesz, descsz, type, then name and desc, each padded to 4 bytes.
    for (let n = offset; n + 12 <= offset + size; ) {
      const namesz = elf.readUInt32LE(n);
      const descsz = elf.readUInt32LE(n + 4);
      const name = elf.toString('latin1', n + 12, n + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && elf.readUInt32LE(n + 8) === PVH_NOTE_TYPE) return true;
      n += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}

const align4 = (n: number) => (n + 3) & ~3;
