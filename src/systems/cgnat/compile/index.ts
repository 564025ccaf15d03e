// CGNAT spec -> the router's plan: links and routes for its backend, sysctls, modules, the ruleset.

import type { SysctlPlan } from '../../../host/plan.ts';
import { FAULTS, type Fault } from '../../faults.ts';
import type { Cgnat, Tenant } from '../model.ts';
import type { CgnatPlan } from '../plan.ts';
import { netnsBatches, TRANSIT, vrfBatches } from './links.ts';
import { cgnatRuleset } from './ruleset.ts';

export interface CgnatOptions {
  /** The namespace of a tenant (backend netns): cgnat-<tenant> on a host; the lab's own names in the lab. */
  readonly namespaceOf?: (t: Tenant) => string;
  /** Deliberate mistakes for a lab demonstration (systems/faults.ts: cgnat-*). */
  readonly faults?: readonly Fault[];
}

const sysctl = (key: string, value: string, source: string): SysctlPlan => ({
  key: key.split('.'),
  value,
  source,
});

/** A router forwards both families; strict reverse-path filtering would drop the NAT replies that
 * a fwmark rule, not the ingress VRF's table, routes back. */
function forwarding(source: string): SysctlPlan[] {
  return [
    sysctl('net.ipv4.ip_forward', '1', source),
    sysctl('net.ipv6.conf.all.forwarding', '1', source),
    sysctl('net.ipv4.conf.all.rp_filter', '0', `${source}: replies are routed by mark, not by their ingress`),
    sysctl(
      'net.ipv4.conf.default.rp_filter',
      '0',
      `${source}: replies are routed by mark, not by their ingress`,
    ),
  ];
}

export function compileCgnat(c: Cgnat, options: CgnatOptions = {}): CgnatPlan {
  const namespaceOf = options.namespaceOf ?? ((t: Tenant) => `cgnat-${t.name}`);
  const vrf = c.backend === 'vrf';
  const batches = vrf ? vrfBatches(c) : netnsBatches(c, namespaceOf);
  const ports = vrf
    ? { zoneKey: (t: Tenant) => t.bridge, forwardFrom: (t: Tenant) => t.name }
    : { zoneKey: (t: Tenant) => t.name, forwardFrom: (t: Tenant) => t.name };
  return {
    cgnat: c.name,
    router: c.router,
    backend: c.backend,
    batches,
    sysctls: [
      ...forwarding('the router forwards between its tenants and the uplink'),
      // With VRFs the router's addresses are local to the uplink VRF only; in one namespace they
      // are local to all, and a subscriber that has one would be dropped as a martian source.
      ...(vrf
        ? []
        : c.tenants.map((t) =>
            sysctl(
              `net.ipv4.conf.${t.name}.accept_local`,
              '1',
              `tenants.${t.name}: its subscribers may use the router's own addresses`,
            ),
          )),
    ],
    namespaceSysctls: new Map(
      vrf
        ? []
        : c.tenants.map((t) => [
            namespaceOf(t),
            [...forwarding(`tenants.${t.name}: the namespace routes between its bridge and ${TRANSIT}`)],
          ]),
    ),
    modules: [
      ...(vrf ? [{ name: 'vrf', source: 'backend vrf: an l3mdev VRF per tenant' }] : []),
      { name: 'nf_conntrack', source: 'conntrack zones, NAT and connection marks' },
    ],
    ruleset: cgnatRuleset(c, ports, { zones: !options.faults?.includes('cgnat-without-zones') }),
    faults: options.faults ?? [],
    faultDescriptions: Object.fromEntries((options.faults ?? []).map((f) => [f, FAULTS[f]])),
  };
}
