// Seed 004's tenant router as one node of the cluster: a network with `router:` has its gateway and
// its NAT on that node alone (compile/links.ts puts the gateway there only); the other nodes just
// bridge its guests to it over the pipes. On the router node: its external addresses, the NAT
// (nat.ts) and, when the network inserts an appliance, the steering (steering.ts, notrack.ts).
import type { PlanBuilder } from '../../../../host/builder.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import { maskBits } from '../../../marks/bits.ts';
import type { ClusterContext } from '../../compile/context.ts';
import type { Network, Node } from '../../model.ts';
import { compileRouterNat } from './nat.ts';
import { compileMarkEverything, compileNotrack } from './notrack.ts';
import { compileSteering, insertingNetworks } from './steering.ts';

export function compileRouter(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  const networks = ctx.cluster.networks.filter((n) => n.router?.node === node.name);
  if (networks.length === 0) return;
  uplinkAddresses(ctx, node, plan, networks);
  compileRouterNat(ctx, node, plan, networks);
  const inserting = insertingNetworks(ctx);
  // The fault's mark per inserting network: the mask's bits from the highest down (node tags take
  // the lowest, strategy stateless).
  const bits = maskBits(ctx.cluster.marks.mask).reverse();
  const here = inserting
    .filter((i) => i.network.router?.node === node.name)
    .map((i) => ({ inserting: i, mark: bits[i.index % bits.length] as number }));
  if (here.length === 0) return;
  for (const { inserting: i, mark } of here) compileSteering(ctx, node, plan, i, mark);
  compileNotrack(
    ctx,
    node,
    plan,
    here.map((h) => h.inserting),
  );
  if (ctx.faults.has('mark-everything')) compileMarkEverything(ctx, node, plan, here);
}

/**
 * The SNAT addresses and floating IPs as /32 on the uplink bridge: the upstream router ARPs for them,
 * and the node answers for its own addresses (its public address stays the primary).
 */
function uplinkAddresses(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  networks: readonly Network[],
): void {
  const done = new Set([node.address]);
  const add = (address: number, source: string) => {
    if (done.has(address)) return;
    done.add(address);
    plan.addresses.push({ dev: node.uplinkBridge, cidr: `${formatIPv4(address)}/32`, source });
  };
  for (const n of networks)
    add(n.router?.snat as number, `networks.${n.name}.snat (${node.name} is its router)`);
  for (const f of ctx.cluster.floating)
    if (f.node === node.name) add(f.address, `${f.path.join('.')}: floating IP of ${f.guest} (nic ${f.nic})`);
}
