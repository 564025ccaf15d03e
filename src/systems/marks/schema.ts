// The spec's `marks:` (cluster and CGNAT alike): which bits convergent may use, and the platforms'
// marks it must leave alone. Numbers as YAML writes them (0x4000 is a number) or "0x4000" as text.
import { z } from 'zod';
import { DEFAULT_MARK_MASK, hexMark } from './bits.ts';

const HEX = /^0x[0-9a-f]{1,8}$/i;

/** A 32-bit mark or mask: a whole number or its hexadecimal text. */
export const markNumber = (what: string) =>
  z
    .union([z.number(), z.string()], { error: `expected ${what}, a 32-bit number such as 0x4000` })
    .transform((v, ctx) => {
      const n = typeof v === 'string' && HEX.test(v) ? Number.parseInt(v, 16) : v;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
      ctx.issues.push({
        code: 'custom',
        message: `expected ${what}, a 32-bit number such as 0x4000`,
        input: v,
      });
      return z.NEVER;
    });

export const PlatformMarkSchema = z.strictObject({
  name: z.string().min(1).describe('Who sets the mark: neutron, kube-proxy, calico, …'),
  mark: markNumber('a mark').describe('The value it sets or matches, e.g. 0x4000000'),
  mask: markNumber('a mask')
    .optional()
    .describe('The bits it owns (set with that mask); all 32 when left out, as iptables assumes'),
});

export const MarksSchema = z
  .strictObject({
    mask: markNumber('a mask')
      .default(DEFAULT_MARK_MASK)
      .describe(
        `The bits of the packet and connection marks convergent uses; ${hexMark(DEFAULT_MARK_MASK)} when left out (README: marks)`,
      ),
    platform: z
      .array(PlatformMarkSchema)
      .default([])
      .describe("Other software's marks on the same hosts: check refuses a mask that overlaps them"),
  })
  .describe('Packet and connection marks: which bits convergent sets and matches');

export type MarksSpec = z.output<typeof MarksSchema>;
export type PlatformMarkSpec = z.output<typeof PlatformMarkSchema>;
