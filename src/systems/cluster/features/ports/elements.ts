// What `nic up` adds to the guest-ports table for one NIC on one tap: set and map elements only,
// never a rule (F21). The rules (compile.ts) are the same for 10 guests or 10,000; a guest is its
// elements, keyed by the tap's name first, so `nic down` finds every one of them by that name.
import { linkLocal } from '../../../../util/ip.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import type { BridgedNetwork, Nic } from '../../model.ts';
import { PORT_CHAINS, PORT_SETS, type PortSet, privateChain } from './names.ts';

/** One element of a set keyed by a tap: the key's parts as nft writes them (the tap first), and a map's value. */
export interface TapElement<S extends string = string> {
  readonly set: S;
  readonly key: readonly string[];
  /** Verdict maps only: the chain the element jumps to. */
  readonly jump?: string;
  /** Data maps only (features/routed's arp_source): the value, as nft writes it. */
  readonly value?: string;
}

/** An element of the guest-ports table. */
export type PortElement = TapElement<PortSet>;

/** What the port of a NIC does, for the line `nic up` prints. */
export interface PortGuard {
  readonly elements: readonly PortElement[];
  /** "52:54:00:00:01:04 62.217.124.10", "52:54:00:00:01:04 (MAC only)", or undefined: nothing checked. */
  readonly antispoof?: string;
  readonly private?: string;
  readonly profile?: 'protected' | 'limited';
}

/** The elements of a NIC plugged on `tap`; `network` is its bridged/private network, if any. */
export function portGuard(nic: Nic, network: BridgedNetwork | undefined, tap: string): PortGuard {
  const elements: PortElement[] = [];
  const add = (set: PortSet, key: readonly string[], jump?: string) =>
    elements.push(jump === undefined ? { set, key: [tap, ...key] } : { set, key: [tap, ...key], jump });
  // A private network by MAC prefix needs the MAC check even with spoof: allow, or a guest could
  // leave its network by taking another prefix (F23).
  const byPrefix = network?.mode === 'private' && network.macPrefix !== undefined;
  // Without an address, a NIC's IPv4 sources are all refused, except on a private network: there
  // the guests may address themselves as they like, and the MAC alone keeps the networks apart.
  const macOnly = byPrefix && (nic.spoof === 'allow' || nic.address === undefined);
  let antispoof: string | undefined;
  if (nic.mac !== undefined && nic.spoof === 'drop' && !macOnly) {
    add(PORT_SETS.mac, [nic.mac]);
    const v4 = nic.address === undefined ? undefined : formatIPv4(nic.address);
    if (v4 !== undefined) add(PORT_SETS.ipv4, [nic.mac, v4]);
    add(PORT_SETS.ipv6, [nic.mac, linkLocal(nic.mac)]);
    if (nic.address6 !== undefined) add(PORT_SETS.ipv6, [nic.mac, nic.address6]);
    add(PORT_SETS.fromGuest, [], PORT_CHAINS.antispoof);
    antispoof = [nic.mac, v4 ?? '(no IPv4)', ...(nic.address6 ? [nic.address6] : [])].join(' ');
  } else if (nic.mac !== undefined && macOnly) {
    add(PORT_SETS.mac, [nic.mac]);
    add(PORT_SETS.fromGuest, [], PORT_CHAINS.ownMac);
    antispoof = `${nic.mac} (MAC only: ${nic.spoof === 'allow' ? 'spoof allow' : 'no address on a private network'})`;
  }
  if (byPrefix && network !== undefined) add(PORT_SETS.toPrivate, [], privateChain(network.name));
  const profile = nic.firewall === 'unprotected' ? undefined : nic.firewall;
  if (profile !== undefined) add(PORT_SETS.toProfile, [], PORT_CHAINS[profile]);
  return {
    elements,
    ...(antispoof !== undefined ? { antispoof } : {}),
    ...(byPrefix && network !== undefined ? { private: `${network.name} ${network.macPrefix}` } : {}),
    ...(profile !== undefined ? { profile } : {}),
  };
}

/** The element as nft reads it in `add element`: { "tap5" . 52:54:… : jump antispoof }, { "tap5" : 192.0.2.1 }. */
export function elementText(e: TapElement): string {
  if (e.jump !== undefined) return `{ ${keyText(e)} : jump ${e.jump} }`;
  return e.value === undefined ? `{ ${keyText(e)} }` : `{ ${keyText(e)} : ${e.value} }`;
}

/** Its key alone, as `delete element` reads it: "tap5" . 52:54:00:00:01:04 */
export function keyText(e: Pick<TapElement, 'key'>): string {
  const [tap, ...rest] = e.key;
  return [JSON.stringify(tap), ...rest].join(' . ');
}
