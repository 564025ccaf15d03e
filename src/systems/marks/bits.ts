// Convergent's packet and connection marks live in the bits of one mask (spec `marks.mask`), so that
// other software's bits on the same packets survive (F36). A value (a node tag, a tenant index) is
// spread over the mask's bits from the lowest up, as x86's pdep does: 5 under 0x30fc is 0x14.

/**
 * The default mask: the lowest octet. No bit is unused by every platform the README lists (Neutron's
 * 0xffff masks cover all 32 in its qrouter namespaces); this octet is clear of kube-proxy (0xc000),
 * Calico (0xffff0000), Tailscale (0xff0000), Cilium's host bits (0xff00) and Docker's IPVS marks
 * (256 up), and a tag or a tenant index keeps its own value in it.
 */
export const DEFAULT_MARK_MASK = 0x000000ff;

/** The mask's bits as single-bit values, lowest first. */
export function maskBits(mask: number): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < 32; bit++) if ((mask >>> bit) & 1) out.push((2 ** bit) >>> 0);
  return out;
}

/** How many bits the value needs: 255 needs 8. */
export function bitLength(value: number): number {
  return value <= 0 ? 0 : Math.floor(Math.log2(value)) + 1;
}

/** The value's bits placed into the mask's bits, lowest first; bits beyond the mask's are lost. */
export function spread(value: number, mask: number): number {
  let out = 0;
  for (const [i, bit] of maskBits(mask).entries()) if ((value >>> i) & 1) out = (out | bit) >>> 0;
  return out;
}

/** 0x000000ff: how nft prints a mark. */
export const hexMark = (value: number) => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;

/** The lowest `bits` bits outside `taken`, or undefined when fewer are free. */
export function freeMask(bits: number, taken: number): number | undefined {
  const free = maskBits(~taken >>> 0).slice(0, bits);
  return free.length < bits ? undefined : free.reduce((m, b) => (m | b) >>> 0, 0);
}
