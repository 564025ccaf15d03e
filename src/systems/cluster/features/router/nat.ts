// The router node's NAT (seed 004's qrouter): floating IPs 1:1 both ways, the subnets' SNAT to the
// router's address, and the forwards to its guests as plain DNAT. Maps, not a rule per floating IP or
// network: the first packet of a flow costs the same lookups with 1 floating IP or 10,000.
//
// No strategy's rules apply here (compile/context.ts keeps these networks and forwards from them):
// the router is its guests' only gateway, so every reply returns through it and conntrack undoes
// the NAT; no full-NAT SNAT, no tags, no sync.
import type { PlanBuilder, TableDraft } from '../../../../host/builder.ts';
import {
  concat,
  counter,
  ct,
  eq,
  ifname,
  inSet,
  ip,
  l4,
  lookup,
  meta,
  PRIORITY,
  v4,
} from '../../../../nft/tree.ts';
import { formatIPv4, formatPrefix } from '../../../../util/ipv4.ts';
import { type ClusterContext, forwardElement } from '../../compile/context.ts';
import { NAT_POSTROUTING } from '../../compile/outbound.ts';
import { ipTable } from '../../compile/tables.ts';
import type { Floating, Forward, Guest, Network, Node } from '../../model.ts';

export const ROUTER_DNAT = 'router-dnat';

/** The NAT of the networks `node` routes (nothing when it routes none). */
export function compileRouterNat(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  networks: readonly Network[],
): void {
  const table = ipTable(ctx, node, plan);
  const floating = ctx.cluster.floating.filter((f) => f.node === node.name);
  const forwards = (ctx.routerForwards.get(node.name) ?? []).filter((f) => f.nodes.includes(node.name));
  if (floating.length > 0 || forwards.length > 0)
    table.chain(ROUTER_DNAT, `routers on ${node.name}: floating IPs and forwards to their guests`, {
      type: 'nat',
      hook: 'prerouting',
      priority: PRIORITY.dstnat,
      policy: 'accept',
    });
  if (floating.length > 0) floatingNat(node, table, floating);
  if (forwards.length > 0) routerForwards(ctx, node, table, forwards);
  const snat = (n: Network) => (n.router as NonNullable<Network['router']>).snat;
  addressMap(table, 'router_subnets', `networks.*.subnet routed by ${node.name}`, true, [
    ...networks.map((n) => ({ key: formatPrefix(n.subnet), comment: `networks.${n.name}.subnet` })),
  ]);
  addressMap(table, 'router_snat', 'networks.*.snat: subnet -> the address it leaves as', true, [
    ...networks.map((n) => ({
      key: formatPrefix(n.subnet),
      value: formatIPv4(snat(n)),
      comment: `networks.${n.name}.snat`,
    })),
  ]);
  routerHairpin(node, table, networks);
  // After "guests leave as their own node" in the chain: that rule's guest_subnets holds no network
  // with a router, so the two never meet the same packet.
  table.rule(
    NAT_POSTROUTING,
    `networks.*.snat: the router ${node.name}'s subnets leave as its external address`,
    eq(meta('oifname'), ifname(node.uplinkBridge)),
    inSet(ip('saddr'), 'router_subnets'),
    counter,
    { kind: 'nat', type: 'snat', to: lookup(ip('saddr'), 'router_snat') },
  );
}

/**
 * The hairpin: a guest of the router's networks dials a floating IP (a forward) whose NIC sits on one
 * of its bridges. DNATed, the packet goes back out a router's bridge; without SNAT the guest would
 * answer the dialler directly (same segment, or its own gateway's other network unNATed) and the
 * dialler would drop an answer from an address it never dialled. SNAT to the router's address on
 * that bridge brings the reply back through the router. A bridge the map lacks (the uplink) leaves
 * the lookup empty: the rule does not match.
 */
function routerHairpin(node: Node, table: TableDraft, networks: readonly Network[]): void {
  table.set({
    name: 'router_hairpin',
    comment: `networks.*.bridge routed by ${node.name} -> its gateway there`,
    key: ['ifname'],
    value: ['ipv4_addr'],
    interval: false,
    elements: networks.map((n) => ({
      key: [ifname(n.bridge)],
      value: [v4(formatIPv4(n.gateway))],
      comment: `networks.${n.name}.gateway`,
    })),
  });
  table.rule(
    NAT_POSTROUTING,
    `floating IPs and forwards dialled from ${node.name}'s networks: replies back through it`,
    eq(ct('status'), { type: 'ct_status', value: 'dnat' }),
    inSet(ip('saddr'), 'router_subnets'),
    counter,
    { kind: 'nat', type: 'snat', to: lookup(meta('oifname'), 'router_hairpin') },
  );
}

/** Floating IPs, 1:1 both ways: in to the NIC from the uplink, out as the floating IP. */
function floatingNat(node: Node, table: TableDraft, floating: readonly Floating[]): void {
  const where = (f: Floating) => `${f.path.join('.')} (${f.guest} nic ${f.nic})`;
  const fip = (f: Floating) => formatIPv4(f.address);
  const nic = (f: Floating) => formatIPv4(f.to);
  const entries = (key: (f: Floating) => string, value?: (f: Floating) => string) =>
    floating.map((f) => ({ key: key(f), ...(value ? { value: value(f) } : {}), comment: where(f) }));
  addressMap(table, 'floating', `guests.*.floating routed by ${node.name}`, false, entries(fip));
  addressMap(table, 'floating_to_guest', 'guests.*.floating: floating IP -> NIC', false, entries(fip, nic));
  addressMap(table, 'floating_nics', 'guests.*.floating: the NICs that have one', false, entries(nic));
  addressMap(table, 'guest_to_floating', 'guests.*.floating: NIC -> floating IP', false, entries(nic, fip));
  // From anywhere, not the uplink only: a floating IP is the guest's address, also for other guests
  // (the /32 is local here, and would otherwise reach the node itself). Replies from the guest return
  // through the router by the hairpin SNAT (routerHairpin).
  table.rule(ROUTER_DNAT, 'guests.*.floating: to the NIC, 1:1', inSet(ip('daddr'), 'floating'), counter, {
    kind: 'nat',
    type: 'dnat',
    to: lookup(ip('daddr'), 'floating_to_guest'),
  });
  // Before the subnets' SNAT below: a NIC with a floating IP leaves as it, not as the router.
  table.rule(
    NAT_POSTROUTING,
    'guests.*.floating: a NIC with a floating IP leaves as it',
    eq(meta('oifname'), ifname(node.uplinkBridge)),
    inSet(ip('saddr'), 'floating_nics'),
    counter,
    { kind: 'nat', type: 'snat', to: lookup(ip('saddr'), 'guest_to_floating') },
  );
}

/** Forwards to guests behind this router: DNAT on its public address, whatever their strategy. */
function routerForwards(
  ctx: ClusterContext,
  node: Node,
  table: TableDraft,
  forwards: readonly Forward[],
): void {
  table.set({
    name: 'router_forwards',
    comment: `forwards to guests behind ${node.name}: proto . public port -> guest . port`,
    key: ['inet_proto', 'inet_service'],
    value: ['ipv4_addr', 'inet_service'],
    interval: false,
    elements: forwards.map((f) => forwardElement(f, ctx.guestByName.get(f.guest) as Guest, 'address . port')),
  });
  // From anywhere, as a floating IP: a guest dialling its router's public port reaches the guest
  // behind it (the hairpin SNAT brings the reply back), not the node's own socket.
  table.rule(
    ROUTER_DNAT,
    `forwards on ${node.name}'s public address to guests it routes (plain DNAT)`,
    eq(ip('daddr'), v4(formatIPv4(node.address))),
    counter,
    { kind: 'nat', type: 'dnat', to: lookup(concat(meta('l4proto'), l4('th', 'dport')), 'router_forwards') },
  );
}

/** A set of IPv4 addresses (or prefixes), or with values a map to addresses. */
function addressMap(
  table: TableDraft,
  name: string,
  comment: string,
  interval: boolean,
  entries: readonly { key: string; value?: string; comment: string }[],
): void {
  const map = entries.some((e) => e.value !== undefined);
  table.set({
    name,
    comment,
    key: ['ipv4_addr'],
    ...(map ? { value: ['ipv4_addr'] as const } : {}),
    interval,
    elements: entries.map((e) => ({
      key: [v4(e.key)],
      ...(e.value === undefined ? {} : { value: [v4(e.value)] }),
      comment: e.comment,
    })),
  });
}
