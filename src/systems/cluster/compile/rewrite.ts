// A forwarded packet rewritten to its guest without conntrack: the stateless strategy does it for
// every packet, ctsync for the few that outrun conntrackd. The maps come from the forwards; the rules
// set the destination address, then the port where the forward translates it.

import type { TableDraft } from '../../../host/builder.ts';
import { concat, ip, l4, lookup, meta, service, setField } from '../../../nft/tree.ts';
import type { Forward, Node } from '../model.ts';
import {
  type ClusterContext,
  type ElementCache,
  forwardElement,
  forwardSource,
  forwardsOn,
} from './context.ts';

export const PROTOS = ['tcp', 'udp'] as const;
type Strategy = Extract<Forward['strategy'], 'stateless' | 'ctsync'>;

/**
 * `<strategy>_ports` (proto . public port), `addressMap` (proto . public port -> guest) and
 * `<strategy>_<proto>_port` (public -> guest port). Membership has a set of its own: kernels before
 * 6.x reject a map used as a set ("Invalid argument"; the VM lab found it on Debian's 6.1).
 */
export function rewriteMaps(
  ctx: ClusterContext,
  node: Node,
  table: TableDraft,
  cache: ElementCache,
  strategy: Strategy,
  addressMap: string,
): void {
  table.set({
    name: `${strategy}_ports`,
    comment: `forwards (strategy ${strategy}): proto . public port`,
    key: ['inet_proto', 'inet_service'],
    interval: false,
    elements: forwardsOn(ctx, node, strategy, (f) => forwardElement(f), cache, `${strategy}-ports`),
  });
  table.set({
    name: addressMap,
    comment: `forwards (strategy ${strategy}): proto . public port -> guest`,
    key: ['inet_proto', 'inet_service'],
    value: ['ipv4_addr'],
    interval: false,
    elements: forwardsOn(ctx, node, strategy, (f, guest) => forwardElement(f, guest), cache, addressMap),
  });
  for (const p of PROTOS) {
    table.set({
      name: `${strategy}_${p}_port`,
      comment: `forwards (${strategy} ${p}) whose guest port differs: public -> guest port`,
      key: ['inet_service'],
      value: ['inet_service'],
      interval: false,
      elements: forwardsOn(
        ctx,
        node,
        strategy,
        (f) =>
          f.proto === p && f.port !== f.toPort
            ? { key: [service(f.port)], value: [service(f.toPort)], comment: forwardSource(f) }
            : undefined,
        cache,
        `${strategy}-${p}-port`,
      ),
    });
  }
}

/** The rewrite itself, appended to `chain`: a missing port entry ends its rule, not the chain. */
export function rewriteRules(table: TableDraft, chain: string, strategy: Strategy, addressMap: string): void {
  table.rule(
    chain,
    `forwards (${strategy}): to the guest`,
    setField(ip('daddr'), lookup(concat(meta('l4proto'), l4('th', 'dport')), addressMap)),
  );
  for (const p of PROTOS) {
    table.rule(
      chain,
      `forwards (${strategy} ${p}): to the guest port`,
      setField(l4(p, 'dport'), lookup(l4(p, 'dport'), `${strategy}_${p}_port`)),
    );
  }
}
