// DNAT of forwards on the entering node, shared by the strategies that keep state (fullnat, ctsync):
// one map "proto . public port -> guest . port" and one rule on the node's public address.

import type { PlanBuilder } from '../../../host/builder.ts';
import { concat, counter, eq, ifname, ip, l4, lookup, meta, PRIORITY, v4 } from '../../../nft/tree.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { Forward, Node } from '../model.ts';
import { type ClusterContext, type ElementCache, forwardElement, forwardsOn } from './context.ts';
import { ipTable } from './tables.ts';

/** Adds the map `<strategy>_forwards` and the chain `<strategy>-dnat`; returns the chain's name. */
export function compileDnat(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  cache: ElementCache,
  strategy: Extract<Forward['strategy'], 'fullnat' | 'ctsync'>,
): string {
  const table = ipTable(ctx, node, plan);
  const map = `${strategy}_forwards`;
  const chain = `${strategy}-dnat`;
  table.set({
    name: map,
    comment: `forwards (strategy ${strategy}): proto . public port -> guest . port`,
    key: ['inet_proto', 'inet_service'],
    value: ['ipv4_addr', 'inet_service'],
    interval: false,
    elements: forwardsOn(
      ctx,
      node,
      strategy,
      (f, guest) => forwardElement(f, guest, 'address . port'),
      cache,
      strategy,
    ),
  });
  table.chain(chain, `forwards (strategy ${strategy}): DNAT`, {
    type: 'nat',
    hook: 'prerouting',
    priority: PRIORITY.dstnat,
    policy: 'accept',
  });
  table.rule(
    chain,
    `forwards (${strategy}) on ${node.name}'s public address`,
    eq(meta('iifname'), ifname(node.uplinkBridge)),
    eq(ip('daddr'), v4(formatIPv4(node.address))),
    counter,
    { kind: 'nat', type: 'dnat', to: lookup(concat(meta('l4proto'), l4('th', 'dport')), map) },
  );
  return chain;
}
