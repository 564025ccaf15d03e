// The CGNAT router's nftables ruleset: one `table inet convergent`. Per packet it does a fixed number
// of hash lookups, whatever the number of tenants and subscribers:
//   raw prerouting     ct original zone set iifname map @tenant_zone   (the cure for seed 002)
//   mangle prerouting  new flows: ct mark = tenant; replies: meta mark = ct mark (ip rule -> tenant table)
//   filter forward     a tenant's IPv4 comes from its subscribers or its routed public prefixes;
//                      at most N connections per subscriber (nf_conncount)
//   nat postrouting    out of the uplink: snat to the subscriber's public address and port block
// With endpoint-independent filtering (RFC 4787), also:
//   postrouting        learn each mapping (public address . proto . port -> subscriber . port)
//   nat prerouting     anyone may send to a learned mapping: dnat to its subscriber
//   prerouting         such a flow is routed by the tenant owning the public port block
//   nat postrouting    hairpinning: a subscriber reaching another's mapping appears as its own
import { RulesetBuilder } from '../../../nft/builder.ts';
import type { Ruleset } from '../../../nft/tree.ts';
import type { Cgnat } from '../model.ts';
import { blockMaps, uplinkNat } from './block-nat.ts';
import { mappingChains, mappingSets } from './mappings.ts';
import { connectionRule, connectionSet, type TenantPorts, tenantChains, tenantSets } from './tenants.ts';

/** The ruleset, each part added under the spec field it comes from (named in lint errors). */
export function cgnatRuleset(c: Cgnat, ports: TenantPorts, options = { zones: true }): Ruleset {
  const nft = new RulesetBuilder(`CGNAT ${c.name}`);
  const table = nft.table(
    'inet',
    'convergent',
    `convergent CGNAT ${c.name}: ${c.tenants.length} tenant(s), ${c.nat.pool.length} public address(es)`,
  );
  const independent = c.nat.filtering === 'endpoint-independent';
  const { connections } = c.nat;
  nft.by('tenants', () => tenantSets(c, ports, table));
  nft.by('nat.pool', () => blockMaps(c, table));
  if (connections !== undefined) nft.by('nat.connections', () => connectionSet(table));
  if (independent) nft.by('nat.filtering', () => mappingSets(c, table));
  nft.by('tenants', () => tenantChains(c, table, options.zones));
  if (connections !== undefined) nft.by('nat.connections', () => connectionRule(c, table, connections));
  nft.by('nat.pool', () => uplinkNat(c, table));
  if (independent) nft.by('nat.filtering', () => mappingChains(c, table));
  return nft.freeze();
}
