// Conntrack exactly once, on the pass that does the NAT (F35; seed 004's final recipe). A steered
// packet crosses the router twice: guest -> router -> appliance -> router -> uplink, and back. Only
// the pass nearest the uplink may be tracked, where the NAT is:
//   iifname <bridge> notrack                  the guests' packets, on their way to the appliance (not
//                                             those for the node itself, nor east-west: those are routed
//                                             directly, tracked once, and NATed when they are the hairpin)
//   iifname <transit bridge> . ip daddr <subnet> notrack   the replies, back from the appliance
// Packets from the uplink and the guests' packets back from the appliance are tracked, once.
// Sets keyed by the inserting networks: two rules whatever their number.
import type { PlanBuilder } from '../../../../host/builder.ts';
import {
  concat,
  fib,
  ifname,
  inSet,
  ip,
  meta,
  ne,
  notInSet,
  notrack,
  PRIORITY,
  v4,
} from '../../../../nft/tree.ts';
import { formatPrefix } from '../../../../util/ipv4.ts';
import { setMasked } from '../../../marks/nft.ts';
import type { ClusterContext } from '../../compile/context.ts';
import { ipTable } from '../../compile/tables.ts';
import type { Network, Node } from '../../model.ts';
import { excludedNetworks, type Inserting } from './steering.ts';

export const INSERT_NOTRACK = 'insert-notrack';
export const INSERT_MARK = 'insert-mark';

const transitOf = (ctx: ClusterContext, i: Inserting) =>
  ctx.cluster.networks.find((n) => n.name === i.insert.transit) as Network;

/** The raw prerouting chain of the inserting networks `node` routes. */
export function compileNotrack(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  inserting: readonly Inserting[],
): void {
  if (ctx.faults.has('no-notrack')) return;
  const table = ipTable(ctx, node, plan);
  table.chain(
    INSERT_NOTRACK,
    'networks.*.insert: conntrack once, on the pass that NATs',
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.raw, policy: 'accept' },
    [
      'Without it the first pass (guest -> appliance) gives an outbound flow a null NAT binding and the',
      "second is never NATed; with one side only, the second pass clashes with the first's entry and is",
      'remapped (another port or ICMP id), which the appliance cannot match (seed 004, updates 1 and 2).',
    ],
  );
  table.set({
    name: 'insert_bridges',
    comment: 'networks.*.bridge of networks inserting an appliance',
    key: ['ifname'],
    interval: false,
    elements: inserting.map(({ network }) => ({
      key: [ifname(network.bridge)],
      comment: `networks.${network.name}.insert`,
    })),
  });
  table.set({
    name: 'insert_direct',
    comment: 'networks.*.insert: bridge . subnet routed directly (never steered, F37)',
    key: ['ifname', 'ipv4_addr'],
    interval: true,
    elements: inserting.flatMap(({ network }) =>
      excludedNetworks(ctx, network).map((n) => ({
        key: [ifname(network.bridge), v4(formatPrefix(n.subnet))],
        comment: `networks.${network.name} to ${n.name}`,
      })),
    ),
  });
  // Tracked: what the node itself receives (its floating IPs and forwards dialled from inside: the
  // DNAT needs it; the replies to its own connections) and east-west, which the rules route directly.
  table.rule(
    INSERT_NOTRACK,
    'networks.*.insert: the guests, on their way to the appliance',
    inSet(meta('iifname'), 'insert_bridges'),
    notInSet(concat(meta('iifname'), ip('daddr')), 'insert_direct'),
    ne(fib('daddr type'), { type: 'fib_addrtype', value: 'local' }),
    notrack,
  );
  if (ctx.faults.has('notrack-one-side')) return;
  table.set({
    name: 'insert_returns',
    comment: "networks.*.insert: transit bridge . subnet of the appliance's network",
    key: ['ifname', 'ipv4_addr'],
    interval: true,
    elements: inserting.map((i) => ({
      key: [ifname(transitOf(ctx, i).bridge), v4(formatPrefix(i.network.subnet))],
      comment: `networks.${i.network.name}.insert via ${i.insert.transit}`,
    })),
  });
  table.rule(
    INSERT_NOTRACK,
    'networks.*.insert: back from the appliance, for the guests',
    inSet(concat(meta('iifname'), ip('daddr')), 'insert_returns'),
    notrack,
  );
}

/**
 * FAULT mark-everything (the seed's strategy 1): every packet not from the transit bridge is marked
 * (under marks.mask, F36) and `ip rule fwmark` steers it; the management network's traffic too.
 */
export function compileMarkEverything(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  inserting: readonly { readonly inserting: Inserting; readonly mark: number }[],
): void {
  const table = ipTable(ctx, node, plan);
  table.chain(INSERT_MARK, 'FAULT mark-everything: mark every packet into the steering', {
    type: 'filter',
    hook: 'prerouting',
    priority: PRIORITY.mangle,
    policy: 'accept',
  });
  for (const { inserting: i, mark } of inserting)
    table.rule(
      INSERT_MARK,
      `networks.${i.network.name}.insert: FAULT: all but the transit bridge`,
      ne(meta('iifname'), ifname(transitOf(ctx, i).bridge)),
      setMasked(meta('mark'), mark, mark),
    );
}
