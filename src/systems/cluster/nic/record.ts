// What `nic up` plugged, kept on the tap itself as its alias (ip link ... alias, at most 255 bytes),
// so a hook run again on a live tap knows its elements without reading the sets (nft reads every
// element of a set to list it: 0.3-1 s at 10,000 guests). It vanishes with the tap; a tap without
// a record, or with one nft disagrees with, is cleared the slow way (nic/up.ts).
// A routed tap's record also names its routing table, uplink and addresses: what its routes and
// proxy-NDP entry are, for nic down and for the next nic up of that name.
import { PORT_SETS } from '../features/ports/names.ts';
import { ARP_SOURCE, ROUTED_SETS } from '../features/routed/names.ts';
import { ARP_REF, type NftTableRef, type NicElement, PORTS_REF, ROUTED_REF } from './elements.ts';

const PREFIX = 'convergent ';
/** IFALIASZ - 1: the kernel keeps at most 255 bytes of an alias. */
const ALIAS_MAX = 255;

interface Code {
  readonly ref: NftTableRef;
  readonly set: string;
  /** How a map's value is written: ">antispoof" is a jump, ">192.0.2.1" a data value. */
  readonly value?: 'jump' | 'data';
}

const CODES: Readonly<Record<string, Code>> = {
  m: { ref: PORTS_REF, set: PORT_SETS.mac },
  '4': { ref: PORTS_REF, set: PORT_SETS.ipv4 },
  '6': { ref: PORTS_REF, set: PORT_SETS.ipv6 },
  f: { ref: PORTS_REF, set: PORT_SETS.fromGuest, value: 'jump' },
  x: { ref: PORTS_REF, set: PORT_SETS.toPrivate, value: 'jump' },
  p: { ref: PORTS_REF, set: PORT_SETS.toProfile, value: 'jump' },
  r4: { ref: ROUTED_REF, set: ROUTED_SETS.ipv4 },
  r6: { ref: ROUTED_REF, set: ROUTED_SETS.ipv6 },
  rf: { ref: ROUTED_REF, set: ROUTED_SETS.fromGuest, value: 'jump' },
  rp: { ref: ROUTED_REF, set: ROUTED_SETS.toProfile, value: 'jump' },
  ra: { ref: ARP_REF, set: ARP_SOURCE, value: 'data' },
};
const codeOf = (e: NicElement) =>
  Object.keys(CODES).find((c) => CODES[c]?.ref.table === e.table && CODES[c]?.set === e.set);

/** A routed tap's routes: `<address>/32|128 dev TAP table <table>`, and its proxy-NDP entry on `uplink`. */
export interface TapRoutes {
  readonly table: number;
  readonly uplink: string;
  /** The NIC's IPv4 and IPv6 addresses routed to the tap. */
  readonly addresses: readonly string[];
}

export interface TapRecord {
  readonly elements: readonly NicElement[];
  /** Routed taps only. */
  readonly routes?: TapRoutes;
}

/**
 * "convergent m=52:54:00:00:01:04 4=52:54:00:00:01:04,62.217.124.10 f>antispoof", or for a routed
 * tap "convergent t=500 u=eth1 h=192.0.2.10,2001:db8::10 r4=192.0.2.10 rf>antispoof ra>192.0.2.1";
 * undefined when too long.
 */
export function recordOf(record: TapRecord): string | undefined {
  const r = record.routes;
  const hosts = r && r.addresses.length > 0 ? [`h=${r.addresses.join(',')}`] : [];
  const routes = r ? [`t=${r.table}`, `u=${r.uplink}`, ...hosts] : [];
  const tokens = record.elements.map((e) => {
    const rest = e.key.slice(1).join(',');
    const value = e.jump ?? e.value;
    return `${codeOf(e)}${rest ? `=${rest}` : ''}${value !== undefined ? `>${value}` : ''}`;
  });
  const text = `${PREFIX}${[...routes, ...tokens].join(' ')}`.trimEnd();
  return Buffer.byteLength(text) <= ALIAS_MAX ? text : undefined;
}

/** What a record names on `tap`; undefined when the alias is not a record (another's, or none). */
export function readRecord(alias: string | undefined, tap: string): TapRecord | undefined {
  if (alias === undefined || !alias.startsWith(PREFIX.trimEnd())) return undefined;
  const elements: NicElement[] = [];
  const route: { table?: number; uplink?: string; addresses?: string[] } = {};
  for (const token of alias.slice(PREFIX.length).split(' ').filter(Boolean)) {
    const at = /^([tuh])=([0-9A-Za-z:._,-]+)$/.exec(token);
    if (at) {
      const [, what, text] = at as unknown as [string, 't' | 'u' | 'h', string];
      if (what === 't') route.table = Number(text);
      else if (what === 'u') route.uplink = text;
      else route.addresses = text.split(',');
      continue;
    }
    // Only what the elements are made of (hex, ":", ".", ","; chain names): the alias goes into nft text.
    const m = /^([m46fxp]|r[46fpa])(?:=([0-9a-f:.,]+))?(?:>([a-z0-9_.:]+))?$/.exec(token);
    const code = m ? CODES[m[1] as string] : undefined;
    if (!m || !code || (m[3] !== undefined) !== (code.value !== undefined)) return undefined;
    const key = [tap, ...(m[2] ? m[2].split(',') : [])];
    const value = m[3] === undefined ? {} : code.value === 'jump' ? { jump: m[3] } : { value: m[3] };
    elements.push({ family: code.ref.family, table: code.ref.table, set: code.set, key, ...value });
  }
  const { table, uplink, addresses } = route;
  if (table === undefined && uplink === undefined && addresses === undefined) return { elements };
  if (table === undefined || !Number.isInteger(table) || uplink === undefined) return undefined;
  return { elements, routes: { table, uplink, addresses: addresses ?? [] } };
}

/** The tables a record's tap is plugged into (its `plugged` entries): routed or guest ports. */
export const tablesOf = (record: TapRecord): NftTableRef[] =>
  record.routes ? [ROUTED_REF, ARP_REF] : [PORTS_REF];
