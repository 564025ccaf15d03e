// Just enough of ELF for the VM lab: the program headers of a 64-bit little-endian file (is busybox
// static? does a kernel have a PVH entry?).
export const PT_NOTE = 4;
export const PT_INTERP = 3;

export interface ProgramHeader {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** The program headers, or none when `elf` is not a 64-bit little-endian ELF. */
export function programHeaders(elf: Buffer): ProgramHeader[] {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return [];
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const size = elf.readUInt16LE(0x36);
  const count = elf.readUInt16LE(0x38);
  return Array.from({ length: count }, (_, i) => {
    const ph = phoff + i * size;
    return {
      type: elf.readUInt32LE(ph),
      offset: Number(elf.readBigUInt64LE(ph + 8)),
      size: Number(elf.readBigUInt64LE(ph + 32)),
    };
  });
}
