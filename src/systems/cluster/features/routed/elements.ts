// What `nic up` adds for one NIC on a routed network, on one tap: elements of the routed table's
// sets and maps and of the arp table's map, never a rule (F21). The rules (compile.ts) are the same
// for 10 guests or 10,000; a guest is its elements, keyed by the tap's name first, so `nic down`
// finds every one of them by that name. The shapes are the guest ports' (features/ports/elements.ts),
// with the table each element belongs to.
import { linkLocal } from '../../../../util/ip.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import type { Nic, RoutedNetwork } from '../../model.ts';
import { elementText, keyText, type TapElement } from '../ports/elements.ts';
import { ARP_SOURCE, ARP_TABLE, ROUTED_CHAINS, ROUTED_SETS, ROUTED_TABLE } from './names.ts';

export type RoutedSet = (typeof ROUTED_SETS)[keyof typeof ROUTED_SETS] | typeof ARP_SOURCE;

/** An element and the table holding its set: inet convergent_routed, or arp convergent_arp (arp_source). */
export interface RoutedElement extends TapElement<RoutedSet> {
  readonly family: 'inet' | 'arp';
  readonly table: string;
}

/** What the tap of a routed NIC does, for the line `nic up` prints. */
export interface RoutedGuard {
  /** In the order nic up adds them: arp_source first, then plugged, then the routed table's. */
  readonly elements: readonly RoutedElement[];
  /** "192.0.2.10 2001:db8::5054:ff:fe00:101", or undefined with spoof: allow (nothing checked). */
  readonly antispoof?: string;
  readonly profile?: 'protected' | 'limited';
}

/** The elements of `nic` plugged on `tap` in its routed network `network`. */
export function routedGuard(nic: Nic, network: RoutedNetwork, tap: string): RoutedGuard {
  const elements: RoutedElement[] = [];
  const inet = (set: RoutedSet, key: readonly string[], jump?: string) =>
    elements.push({
      family: 'inet',
      table: ROUTED_TABLE,
      set,
      key: [tap, ...key],
      ...(jump === undefined ? {} : { jump }),
    });
  // The node's ARP requests toward the guest carry the guest's gateway as sender (gnt-networking's
  // arptables mangle on the tap): the guest learns nothing of the node's own addresses.
  elements.push({
    family: 'arp',
    table: ARP_TABLE,
    set: ARP_SOURCE,
    key: [tap],
    value: formatIPv4(network.gateway),
  });
  inet(ROUTED_SETS.plugged, []);
  let antispoof: string | undefined;
  if (nic.spoof === 'drop') {
    const v4 = nic.address === undefined ? undefined : formatIPv4(nic.address);
    if (v4 !== undefined) inet(ROUTED_SETS.ipv4, [v4]);
    const v6 = [nic.address6, nic.mac === undefined ? undefined : linkLocal(nic.mac)].filter(
      (a): a is string => a !== undefined,
    );
    for (const a of v6) inet(ROUTED_SETS.ipv6, [a]);
    inet(ROUTED_SETS.fromGuest, [], ROUTED_CHAINS.antispoof);
    antispoof = [v4 ?? '(no IPv4)', ...(nic.address6 ? [nic.address6] : [])].join(' ');
  }
  const profile = nic.firewall === 'unprotected' ? undefined : nic.firewall;
  if (profile !== undefined) inet(ROUTED_SETS.toProfile, [], ROUTED_CHAINS[profile]);
  return {
    elements,
    ...(antispoof !== undefined ? { antispoof } : {}),
    ...(profile !== undefined ? { profile } : {}),
  };
}

/** A line of an `nft -f` transaction: `add element inet convergent_routed tap_ipv4 { "tap5" . 192.0.2.10 }`. */
export function elementLine(verb: 'add' | 'create' | 'delete', e: RoutedElement): string {
  const what = verb === 'delete' ? `{ ${keyText(e)} }` : elementText(e);
  return `${verb} element ${e.family} ${e.table} ${e.set} ${what}`;
}
