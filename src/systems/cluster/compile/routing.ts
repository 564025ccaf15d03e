// What every node holds for each IP-less routed network (F18, F19; gnt-networking's routed setup):
// the uplink device (a VLAN on the trunk when tagged; no bridge, no address), a routing table with
// the subnet on the uplink, the upstream default and an unreachable default under it, policy rules
// into the table, and the subnet in the main table. Per guest, `nic up` adds a /32 (/128) to its tap
// in the table. The router node (F26) holds the gateway on the uplink instead of a default via it.
import type { PlanBuilder } from '../../../host/builder.ts';
import type { RoutePlan, RulePlan } from '../../../host/plan.ts';
import { ROUTED_RULE_PREF } from '../../../host/routing.ts';
import { formatIPv4, formatPrefix } from '../../../util/ipv4.ts';
import type { Node, RoutedNetwork } from '../model.ts';
import type { ClusterContext } from './context.ts';
import { mtuOf, uplinkVlan } from './interfaces.ts';

/** Policy rules take preferences from here, ten per routed network in spec order (network.sh says it). */
export const RULE_PREF = ROUTED_RULE_PREF;
const RULE_OFFSET = { iif: 0, from: 1, to: 2 } as const;

/**
 * The largest metric: the unreachable default lies under every other default, and stays when the
 * uplink goes down and its routes with it. Without it, a proxy-ARP lookup for an address of the
 * subnet falls through to the main table's default via another device, and the node answers ARP for
 * the whole subnet (seed 003's "after ifdown; ifup").
 */
export const LAST_METRIC = 4294967295;

export function compileRouted(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  ctx.cluster.routed.forEach((network, index) => {
    const router = network.router === node.name;
    const at = `networks.${network.name}`;
    uplinkLink(network, plan);
    plan.tables.push({ id: network.table.id, name: network.table.name, source: `${at}.table` });
    if (router) routerAddresses(network, plan);
    plan.routes.push(...tableRoutes(network, router));
    // gnt-networking's VM host has the subnet in main too; the `to <subnet>` rule takes the table
    // first (its own guests are there), so this shows in `ip route` and holds while the rules are
    // missing. The router has it from its address.
    if (!router)
      plan.routes.push({
        to: formatPrefix(network.subnet),
        dev: network.uplink.device,
        source: `${at}.subnet (main table: the node reaches the guests)`,
      });
    plan.rules.push(...rules(network, index, router));
  });
}

/**
 * A tagged network's VLAN on its trunk, as bridged networks' are made; no bridge over it. Loosely
 * bound: an `ifdown bond0; ifup bond0` leaves it up, with the table's routes and the guests'
 * proxy-NDP entries (a VLAN bound tightly goes down with its parent and loses them; tested on
 * Debian 12's 6.1).
 */
function uplinkLink(network: RoutedNetwork, plan: PlanBuilder): void {
  const { uplink } = network;
  const mtu = network.mtu ?? mtuOf(plan.links, uplink.trunk);
  const source = `networks.${network.name} (routed: VLAN ${uplink.vlan} on ${uplink.trunk}, no bridge, loose binding)`;
  uplinkVlan(plan, uplink, mtu, source, true);
}

/** F26: the router node owns the gateway addresses on the uplink device. */
function routerAddresses(network: RoutedNetwork, plan: PlanBuilder): void {
  const dev = network.uplink.device;
  const at = `networks.${network.name}`;
  plan.addresses.push({
    dev,
    cidr: `${formatIPv4(network.gateway)}/${network.subnet.length}`,
    source: `${at}.gateway (this node is its router)`,
  });
  if (network.subnet6 && network.gateway6)
    plan.addresses.push({
      dev,
      cidr: `${network.gateway6}/${network.subnet6.length}`,
      source: `${at}.gateway6 (this node is its router)`,
    });
}

/**
 * The network's table: the subnet on the uplink, the default via the gateway (not on the router:
 * a gateway that is one of its own addresses is refused), the unreachable default; IPv6 likewise.
 */
function tableRoutes(network: RoutedNetwork, router: boolean): RoutePlan[] {
  const dev = network.uplink.device;
  const table = network.table.id;
  const at = `networks.${network.name}`;
  const unreachable = (family?: 6): RoutePlan => ({
    to: 'default',
    type: 'unreachable',
    metric: LAST_METRIC,
    table,
    ...(family ? { family } : {}),
    upWith: dev,
    source: `${at}: nothing else (no fall-through to the main table while ${dev} is down)`,
  });
  const out: RoutePlan[] = [{ to: formatPrefix(network.subnet), dev, table, source: `${at}.subnet` }];
  if (!router)
    out.push({ to: 'default', via: formatIPv4(network.gateway), dev, table, source: `${at}.gateway` });
  out.push(unreachable());
  const { subnet6, gateway6 } = network;
  if (subnet6 === undefined) return out;
  out.push({ to: `${subnet6.text}/${subnet6.length}`, dev, table, family: 6, source: `${at}.subnet6` });
  if (!router && gateway6 !== undefined)
    out.push({ to: 'default', via: gateway6, dev, table, family: 6, source: `${at}.gateway6` });
  out.push(unreachable(6));
  return out;
}

/**
 * Into the table: what arrives on the uplink (its proxy-ARP and NDP lookups too) and what the guests
 * send (`from <subnet>`: one rule for every guest; gnt-networking's rule per tap makes each packet
 * scan up to N rules, and the tap's anti-spoofing guarantees the source), and the node's own traffic
 * for the guests (`to <subnet>`: the main table's subnet route would send it out the uplink, where
 * nobody answers for the node's own guests). The router node has no default in the table, so only
 * `to <subnet>` leads there; the rest (the guests' way out, other nodes' guests through it) takes
 * its main table and NAT.
 */
function rules(network: RoutedNetwork, index: number, router: boolean): RulePlan[] {
  const upWith = network.uplink.device;
  const table = network.table.id;
  const at = `networks.${network.name}`;
  const rule = (family: 4 | 6, kind: keyof typeof RULE_OFFSET, value: string, why: string): RulePlan => ({
    family,
    pref: RULE_PREF + 10 * index + RULE_OFFSET[kind],
    match: { kind, value },
    table,
    upWith,
    source: `${at}: ${why}`,
  });
  const subnets: [4 | 6, string][] = [[4, formatPrefix(network.subnet)]];
  if (network.subnet6) subnets.push([6, `${network.subnet6.text}/${network.subnet6.length}`]);
  if (router) return subnets.map(([f, s]) => rule(f, 'to', s, 'traffic for the guests (router node)'));
  return subnets.flatMap(([f, s]) => [
    rule(f, 'iif', upWith, 'what arrives on the uplink'),
    rule(f, 'from', s, "the guests' traffic"),
    rule(f, 'to', s, "the node's own traffic for the guests"),
  ]);
}
