// What `nic up` plugged, kept on the tap itself as its alias (ip link ... alias, at most 255 bytes),
// so a hook run again on a live tap knows its elements without reading the sets (nft reads every
// element of a set to list it: 0.3-1 s at 10,000 guests). It vanishes with the tap; a tap without
// a record, or with one nft disagrees with, is cleared the slow way (nic/up.ts).
import type { PortElement } from '../features/ports/elements.ts';
import { PORT_SETS, type PortSet } from '../features/ports/names.ts';

const PREFIX = 'convergent ';
/** IFALIASZ - 1: the kernel keeps at most 255 bytes of an alias. */
const ALIAS_MAX = 255;

const CODES: Readonly<Record<string, PortSet>> = {
  m: PORT_SETS.mac,
  '4': PORT_SETS.ipv4,
  '6': PORT_SETS.ipv6,
  f: PORT_SETS.fromGuest,
  x: PORT_SETS.toPrivate,
  p: PORT_SETS.toProfile,
};
const CODE_OF = new Map(Object.entries(CODES).map(([code, set]) => [set, code]));

/** "convergent m=52:54:00:00:01:04 4=52:54:00:00:01:04,62.217.124.10 f>antispoof"; undefined when too long. */
export function recordOf(elements: readonly PortElement[]): string | undefined {
  const tokens = elements.map((e) => {
    const rest = e.key.slice(1).join(',');
    return `${CODE_OF.get(e.set)}${rest ? `=${rest}` : ''}${e.jump ? `>${e.jump}` : ''}`;
  });
  const record = `${PREFIX}${tokens.join(' ')}`.trimEnd();
  return Buffer.byteLength(record) <= ALIAS_MAX ? record : undefined;
}

/** The elements a record names on `tap`; undefined when the alias is not a record (another's, or none). */
export function elementsOfRecord(alias: string | undefined, tap: string): PortElement[] | undefined {
  if (alias === undefined || !alias.startsWith(PREFIX.trimEnd())) return undefined;
  const out: PortElement[] = [];
  for (const token of alias.slice(PREFIX.length).split(' ').filter(Boolean)) {
    // Only what the elements are made of (hex, ":", ".", ","; chain names): the alias goes into nft text.
    const m = /^([m46fxp])(?:=([0-9a-f:.,]+))?(?:>([a-z0-9_]+))?$/.exec(token);
    const set = m ? CODES[m[1] as string] : undefined;
    if (!m || !set) return undefined;
    const key = [tap, ...(m[2] ? m[2].split(',') : [])];
    out.push(m[3] ? { set, key, jump: m[3] } : { set, key });
  }
  return out;
}
