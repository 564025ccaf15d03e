// STATELESS inbound (seed part 4): the guest sees the client's real address, and its reply leaves
// through its own node, which rewrites the source back to the address the client dialled.
//
//   entering node  prerouting raw (-300, before conntrack at -200): daddr/dport -> guest, mark = own tag
//   pipe           netdev ingress on the hosting node: mark = tag of the sending node (MAC prefix)
//   hosting node   postrouting filter: ct mark = mark, for flows to a stateless forward target
//                  postrouting srcnat-10 (before stateful SNAT): reply saddr/sport -> the entering node
// A tag lives in the marks' bits under marks.mask (spread into them), read and written under that
// mask: other software's bits on the same packets and flows survive (F36, ../../../marks/nft.ts).
// A tag goes from one mark into the other by a verdict map to a chain per tag (tags.ts).

import type { PlanBuilder, TableDraft } from '../../../../host/builder.ts';
import {
  concat,
  counter,
  ct,
  type Element,
  eq,
  ifname,
  inSet,
  ip,
  l4,
  lookup,
  meta,
  notrack,
  PRIORITY,
  service,
  setField,
  v4,
} from '../../../../nft/tree.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import { hexMark, spread } from '../../../marks/bits.ts';
import { masked, setMasked } from '../../../marks/nft.ts';
import {
  type ClusterContext,
  distinctTargets,
  type ElementCache,
  forwardSource,
} from '../../compile/context.ts';
import { PROTOS, rewriteMaps, rewriteRules } from '../../compile/rewrite.ts';
import { ipTable, netdevTable, pipeDevices } from '../../compile/tables.ts';
import type { Guest, Node } from '../../model.ts';
import { tagFromMac, tagToCt } from './tags.ts';

export const STATELESS_DNAT = 'stateless-dnat';
export const STATELESS_REWRITE = 'stateless-rewrite';
export const MARK_INBOUND = 'mark-inbound';
export const STATELESS_REPLY = 'stateless-reply';
export const STATELESS_UNREWRITE = 'stateless-unrewrite';
export const PIPE_INGRESS = 'pipe-ingress';

export function compileStateless(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  cache: ElementCache,
): void {
  if (!ctx.uses.stateless) return;
  const table = ipTable(ctx, node, plan);
  statelessMaps(ctx, node, table, cache);
  enteringNode(ctx, node, table);
  hostingNode(ctx, node, table);
  pipeIngress(ctx, node, plan);
}

/** Sets and maps: everything that grows with the cluster lives here, never in rules. */
function statelessMaps(ctx: ClusterContext, node: Node, table: TableDraft, cache: ElementCache): void {
  table.set({
    name: 'node_tags',
    comment: 'nodes.*.tag, spread into marks.mask',
    key: ['mark'],
    interval: false,
    elements: ctx.elements.nodeTags,
  });
  table.set({
    name: 'node_public',
    comment: 'nodes.*: tag -> public address',
    key: ['mark'],
    value: ['ipv4_addr'],
    interval: false,
    elements: ctx.elements.nodePublic,
  });
  rewriteMaps(ctx, node, table, cache, 'stateless', 'stateless_forwards');
  const hosted = hostedTargets(ctx, node);
  table.set({
    name: 'stateless_targets',
    comment: `guests on ${node.name} behind stateless forwards: address . proto . port`,
    key: ['ipv4_addr', 'inet_proto', 'inet_service'],
    interval: false,
    elements: hosted.targets,
  });
  for (const p of PROTOS) {
    table.set({
      name: `stateless_${p}_reply_port`,
      comment: `guests on ${node.name}, stateless ${p}: guest . port -> public port`,
      key: ['ipv4_addr', 'inet_service'],
      value: ['inet_service'],
      interval: false,
      elements: hosted.replyPorts[p],
    });
  }
}

/** The entering node rewrites to the guest, before conntrack, and marks the flow with its tag. */
function enteringNode(ctx: ClusterContext, node: Node, table: TableDraft): void {
  const { mask } = ctx.cluster.marks;
  const tagNote = `nodes.${node.name}.tag ${node.tag} (mark ${hexMark(spread(node.tag, mask))} under ${hexMark(mask)})`;
  table.chain(
    STATELESS_DNAT,
    'forwards (strategy stateless): inbound',
    {
      type: 'filter',
      hook: 'prerouting',
      priority: ctx.faults.has('stateless-after-conntrack') ? -150 : PRIORITY.raw,
      policy: 'accept',
    },
    [
      'Priority raw (-300), before conntrack (-200): conntrack must record the guest as the destination,',
      'or the guest\'s reply matches no flow and is never rewritten (seed part 4: "-150 was not enough").',
    ],
  );
  table.rule(
    STATELESS_DNAT,
    `forwards (stateless) on ${node.name}'s public address`,
    eq(meta('iifname'), ifname(node.uplinkBridge)),
    eq(ip('daddr'), v4(formatIPv4(node.address))),
    inSet(concat(meta('l4proto'), l4('th', 'dport')), 'stateless_ports'),
    counter,
    { kind: 'goto', chain: STATELESS_REWRITE },
  );
  table.chain(STATELESS_REWRITE, 'forwards (strategy stateless): rewrite to the guest', undefined, [
    "The mark is this node's own tag, also for its own guests: the reply leaves as this node.",
  ]);
  table.rule(
    STATELESS_REWRITE,
    `${tagNote}: the flow entered here`,
    setMasked(meta('mark'), mask, spread(node.tag, mask)),
  );
  rewriteRules(table, STATELESS_REWRITE, 'stateless', 'stateless_forwards');
  // A guest on another node answers through that node: here conntrack would only ever see one
  // direction (every later packet INVALID, and a per-packet lookup for nothing).
  table.rule(
    STATELESS_REWRITE,
    'forwards (stateless) to guests on other nodes: no conntrack here',
    {
      kind: 'match-set',
      left: concat(ip('daddr'), meta('l4proto'), l4('th', 'dport')),
      set: 'stateless_targets',
      negate: true,
    },
    notrack,
  );
}

/** The hosting node remembers which node let a flow in, and answers as that node. */
function hostingNode(ctx: ClusterContext, node: Node, table: TableDraft): void {
  const { mask } = ctx.cluster.marks;
  table.chain(
    MARK_INBOUND,
    'forwards (strategy stateless): ct mark = entering node',
    { type: 'filter', hook: 'postrouting', priority: PRIORITY.filter, policy: 'accept' },
    [
      'A packet mark lives with one packet, a conntrack mark with the flow; netdev cannot set the latter.',
      'Bridged frames from the pipes reach this hook through br_netfilter, with the bridge as oif.',
    ],
  );
  table.rule(
    MARK_INBOUND,
    'forwards (stateless): tag the flow to a guest here (untagged: no element, no verdict)',
    inSet(meta('oifname'), 'guest_bridges'),
    inSet(concat(ip('daddr'), meta('l4proto'), l4('th', 'dport')), 'stateless_targets'),
    tagToCt(ctx, table),
  );

  table.chain(
    STATELESS_REPLY,
    'forwards (strategy stateless): replies',
    { type: 'filter', hook: 'postrouting', priority: PRIORITY.srcnat - 10, policy: 'accept' },
    ['Priority srcnat-10: before the stateful SNAT at srcnat, which must keep handling outbound flows.'],
  );
  table.rule(
    STATELESS_REPLY,
    'forwards (stateless): reply of a tagged flow',
    eq(meta('oifname'), ifname(node.uplinkBridge)),
    eq(ct('direction'), { type: 'ct_direction', value: 'reply' }),
    inSet(masked(ct('mark'), mask), 'node_tags'),
    inSet(concat(ip('saddr'), meta('l4proto'), l4('th', 'sport')), 'stateless_targets'),
    counter,
    { kind: 'goto', chain: STATELESS_UNREWRITE },
  );
  table.chain(STATELESS_UNREWRITE, 'forwards (strategy stateless): answer as the entering node');
  for (const p of ctx.faults.has('stateless-reply-port-kept') ? [] : PROTOS) {
    table.rule(
      STATELESS_UNREWRITE,
      `forwards (stateless ${p}): from the public port`,
      setField(l4(p, 'sport'), lookup(concat(ip('saddr'), l4(p, 'sport')), `stateless_${p}_reply_port`)),
    );
  }
  table.rule(
    STATELESS_UNREWRITE,
    'nodes.*: from the address the client dialled',
    setField(ip('saddr'), lookup(masked(ct('mark'), mask), 'node_public')),
  );
}

/** Pipes: frames routed by another node carry that node's guest-bridge MAC, hence its tag. */
function pipeIngress(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  const devices = pipeDevices(ctx, node);
  if (devices.length === 0) return;
  const netdev = netdevTable(ctx, node, plan);
  netdev.chain(PIPE_INGRESS, 'forwards (strategy stateless): which node sent it', {
    type: 'filter',
    hook: 'ingress',
    priority: PRIORITY.raw - 200,
    devices,
    policy: 'accept',
  });
  netdev.rule(PIPE_INGRESS, 'nodes.*.tag: from a node, whose MAC carries its tag', tagFromMac(ctx, netdev));
}

/** Stateless forward targets on guests this node hosts, and the reverse port map for their replies. */
function hostedTargets(
  ctx: ClusterContext,
  node: Node,
): { targets: Element[]; replyPorts: Record<'tcp' | 'udp', Element[]> } {
  const hosted = new Set((ctx.guestsByNode.get(node.name) ?? []).map((g: Guest) => g.name));
  const targets = distinctTargets(ctx, 'stateless', (f) => hosted.has(f.guest));
  const replyPorts: Record<'tcp' | 'udp', Element[]> = { tcp: [], udp: [] };
  for (const { forward: f, guest } of targets)
    if (f.port !== f.toPort)
      replyPorts[f.proto].push({
        key: [v4(formatIPv4(guest.address)), service(f.toPort)],
        value: [service(f.port)],
        comment: forwardSource(f),
      });
  return { targets: targets.map((t) => t.element), replyPorts };
}
