// Service insertion by policy routing (F34, F37; seed 004's final recipe) on the router node: a table
// per inserting network whose default is the appliance, and interface rules into it. The rules and
// routes go through the plan like routed networks' (compile/routing.ts), so network.sh and ifupdown
// render them the same way; rt_tables.d names the table "<network>-insert".
//
//   +0..+7  iif <bridge> to <the router's subnets> lookup main   F37: east-west (the hairpin to its
//           own subnet included) and the appliance's management network are never steered, and come first
//   +8      iif <bridge> lookup <table>                               egress: the guests' traffic
//   +9      iif <uplink> to <subnet> lookup <table>                   ingress: after DNAT (floating IPs,
//           forwards), since policy routing follows prerouting
//
// Never steered either, without a rule: the node's own traffic (output never meets iif rules) and
// link-local multicast such as VRRP (delivered locally before any policy rule: ip_route_input_mc).
import type { PlanBuilder } from '../../../../host/builder.ts';
import type { RulePlan } from '../../../../host/plan.ts';
import { INSERT_RULE_PREF, MAIN_TABLE } from '../../../../host/routing.ts';
import type { Prefix } from '../../../../util/ipv4.ts';
import { formatIPv4, formatPrefix } from '../../../../util/ipv4.ts';
import { hexMark } from '../../../marks/bits.ts';
import type { ClusterContext } from '../../compile/context.ts';
import { LAST_METRIC } from '../../compile/routing.ts';
import type { Insertion, Network, Node } from '../../model.ts';

/** Rules per inserting network, and the offsets of egress and ingress among them: the exclusions
 * fit before egress (validate/router-tables.ts refuses more). */
export const INSERT_RULES = { per: 10, egress: 8, ingress: 9 } as const;

/** A network that inserts an appliance, with its place among all inserting networks (spec order). */
export interface Inserting {
  readonly network: Network;
  readonly insert: Insertion;
  readonly index: number;
}

/** Every inserting network of the cluster, numbered in spec order: the same preferences on any node. */
export function insertingNetworks(ctx: ClusterContext): Inserting[] {
  return ctx.cluster.networks
    .filter((n) => n.router?.insert !== undefined)
    .map((network, index) => ({ network, insert: network.router?.insert as Insertion, index }));
}

/**
 * The subnets never steered from `network`: east-west, every subnet its router node routes itself,
 * routed directly both ways. The appliance guards north-south (to and from the uplink): a subnet
 * steered one way and not the other would show it one direction of a flow, which it drops. So: the
 * anycast networks (every node their gateway), the routed networks, the router's own networks but
 * the transit ones, and the network's own subnet: the only routed traffic from the bridge to it is a
 * floating IP or forward dialled from inside (the hairpin), which cannot pass a stateful appliance
 * (the reply is un-NATed on its first pass, before the appliance: it would meet halves of two flows).
 */
export function excludedNetworks(ctx: ClusterContext, network: Network): { name: string; subnet: Prefix }[] {
  const router = network.router?.node;
  return [
    ...ctx.cluster.networks.filter((n) => (n.router === undefined || n.router.node === router) && !n.transit),
    ...ctx.cluster.routed,
  ];
}

/** The table, its routes, the rules and the sysctls of one inserting network on its router node. */
export function compileSteering(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  { network, insert, index }: Inserting,
  mark: number,
): void {
  const at = `networks.${network.name}`;
  const transit = ctx.cluster.networks.find((n) => n.name === insert.transit) as Network;
  const table = insert.table.id;
  plan.tables.push({
    id: table,
    name: insert.table.name,
    source: `${at}.table (steering into ${insert.appliance})`,
  });
  plan.routes.push(
    {
      to: 'default',
      via: formatIPv4(insert.address),
      dev: transit.bridge,
      table,
      source: `${at}.insert: the appliance ${insert.appliance} on ${insert.transit}`,
    },
    {
      to: 'default',
      type: 'unreachable',
      metric: LAST_METRIC,
      table,
      // Up with the rules (ifupdown): steered traffic never finds the table empty and falls through.
      upWith: network.bridge,
      source: `${at}.insert: fail closed (no way around ${insert.appliance} while ${transit.bridge} is down)`,
    },
  );
  plan.rules.push(...steeringRules(ctx, node, network, { table, index, mark }));
  // The appliance returns packets whose source is not routed through it: strict reverse-path
  // filtering on its bridge would drop them (2 = loose; the kernel takes the larger of "all" and this).
  plan.sysctl(
    ['net', 'ipv4', 'conf', transit.bridge, 'rp_filter'],
    '2',
    `${at}.insert: the appliance returns others' packets`,
  );
  for (const on of ['all', transit.bridge])
    plan.sysctl(
      ['net', 'ipv4', 'conf', on, 'send_redirects'],
      '0',
      `${at}.insert: no ICMP redirects around the appliance`,
    );
}

function steeringRules(
  ctx: ClusterContext,
  node: Node,
  network: Network,
  { table, index, mark }: { table: number; index: number; mark: number },
): RulePlan[] {
  const at = `networks.${network.name}`;
  const base = INSERT_RULE_PREF + INSERT_RULES.per * index;
  const subnet = formatPrefix(network.subnet);
  const rule = (
    offset: number,
    match: RulePlan['match'],
    why: string,
    to?: string,
    into = table,
  ): RulePlan => ({
    family: 4,
    pref: base + offset,
    match,
    ...(to === undefined ? {} : { to }),
    table: into,
    upWith: network.bridge,
    source: `${at}.insert: ${why}`,
  });
  // The seed's strategy 1: a mark on everything, and the mark into the table.
  if (ctx.faults.has('mark-everything'))
    return [
      rule(
        INSERT_RULES.egress,
        { kind: 'fwmark', value: `${hexMark(mark)}/${hexMark(mark)}` },
        'FAULT: every marked packet',
      ),
    ];
  return [
    ...excludedNetworks(ctx, network).map((n, i) =>
      rule(
        i,
        { kind: 'iif', value: network.bridge },
        n.name === network.name
          ? 'never steered to itself (the hairpin)'
          : `never steered to network ${n.name} (F37: east-west, direct both ways)`,
        formatPrefix(n.subnet),
        MAIN_TABLE,
      ),
    ),
    rule(INSERT_RULES.egress, { kind: 'iif', value: network.bridge }, 'egress: the guests to the appliance'),
    rule(
      INSERT_RULES.ingress,
      { kind: 'iif', value: node.uplinkBridge },
      'ingress: for the guests, after DNAT, to the appliance',
      subnet,
    ),
  ];
}
