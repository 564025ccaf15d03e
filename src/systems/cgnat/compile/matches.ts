// Matches and statements the parts of the CGNAT ruleset share (tenants.ts, block-nat.ts, mappings.ts).
import { concat, ct, eq, ip, lookup, meta, type Statement } from '../../../nft/tree.ts';
import { masked } from '../../marks/nft.ts';
import type { Tenant } from '../model.ts';

/** The tenant's mark: its index spread into marks.mask. */
export const mark = (t: Tenant) => ({ type: 'mark', value: t.mark }) as const;
/** The chains that write a tenant's mark under the mask (tenants.ts): flow -> ct mark, route -> meta mark. */
export const flowChain = (t: Tenant) => `flow-${t.name}`;
export const routeChain = (t: Tenant) => `route-${t.name}`;
export const jumpTo = (chain: string) => ({ type: 'verdict', value: chain }) as const;
export const device = (value: string) => ({ type: 'ifname', value }) as const;
export const protocols = (...values: ('tcp' | 'udp' | 'icmp')[]): Statement => ({
  kind: 'match',
  left: meta('l4proto'),
  op: 'eq',
  right: { kind: 'anonymous-set', values: values.map((value) => ({ type: 'inet_proto', value })) },
});
export const ipv4 = eq(meta('nfproto'), { type: 'nfproto', value: 'ipv4' });
export const drop: Statement[] = [{ kind: 'counter' }, { kind: 'verdict', verdict: 'drop' }];
/** The original direction of a TCP or UDP flow we NATed (snat: out; dnat: in through a mapping).
 * The protocol match also lets nft type `ct original proto-dst` in a concatenation. */
export const originalNated = (status: 'snat' | 'dnat'): Statement[] => [
  eq(ct('direction'), { type: 'ct_direction', value: 'original' }),
  eq(ct('status'), { type: 'ct_status', value: status }),
  ipv4,
  protocols('tcp', 'udp'),
];
/** snat to the subscriber's entry in a map keyed by tenant mark . subscriber (the mark under marks.mask). */
export const snatBy = (map: string, mask: number): Statement => ({
  kind: 'nat',
  type: 'snat',
  to: lookup(concat(masked(ct('mark'), mask), ip('saddr')), map),
});
