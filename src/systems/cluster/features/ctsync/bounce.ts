// CT-SYNC's handshake without the 1 s: a reply that outruns the sync goes back to the node the
// client entered, which holds the flow, instead of being dropped.
//
// The guest's SYN-ACK reaches its own node 10-20 µs after the SYN; conntrackd's copy of the flow
// arrives 0.2-0.6 ms after it. Without a copy the reply cannot be un-DNATed here, and dropped, it
// costs the guest's 1 s initial RTO. The entering node has the flow from the first packet on.
//
//   learn     bridge prerouting, frames from the pipes to a forward's guest port: a packet another
//             node routed here carries that node's guest-bridge MAC: flow -> its tag, kept 2 s after
//             its last packet (each one renews it: a flow whose copy never came, NOTRACK mode losing
//             a message, is still answered, through the entering node)
//   hand on   bridge input, a guest's frame to this node: the reversed flow's tag into the packet's
//             priority (skb->priority), the only field that crosses from the bridge to the IP layer
//             besides the mark, which other software shares (F36) and nft 1.0.6 cannot write under
//             a mask from a map; ip_forward resets the priority from the TOS
//   bounce    ip prerouting after conntrack: a reply with no entry here (invalid, or new) is sent to
//             the entering node's address on this bridge (dup to: an untracked copy with that next
//             hop, TTL one less, DF set, its priority still the tag), and dropped here
//
// Once the copy has landed (the usual case after the SYN-ACK) replies find it and leave through this
// node as before; the bounce only ever takes what would have been dropped. A reply the entering node
// does not know either (it failed) is dropped there, as before.
import type { PlanBuilder } from '../../../../host/builder.ts';
import {
  classid,
  concat,
  counter,
  ct,
  ctState,
  drop,
  type Element,
  eq,
  ether,
  etherAddr,
  ifname,
  ip,
  l4,
  lookup,
  meta,
  ne,
  PRIORITY,
  setField,
  v4,
  vmap,
} from '../../../../nft/tree.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import type { ClusterContext } from '../../compile/context.ts';
import { bridgeTable, ipTable, pipeDevices } from '../../compile/tables.ts';
import type { Node } from '../../model.ts';

export const CTSYNC_LEARN = 'ctsync-learn';
export const CTSYNC_HAND_ON = 'ctsync-hand-on';
export const CTSYNC_BOUNCE = 'ctsync-bounce';
/** How long a flow's entering node is kept: far longer than a sync takes (under 1 ms). */
export const BOUNCE_WINDOW_SECONDS = 2;
/** The flows whose replies went back to the entering node: the ip table's set, kept this long. */
export const OUTRAN = 'ctsync_outran';
const OUTRAN_SECONDS = 30;
/**
 * Elements of either dynamic set: flows active through the pipes in the last 2 s, flows sent back
 * in the last 30 s (8,700 new a second). Full, a set only stops learning; packets pass as before.
 */
const FLOWS_MAX = 262144;

const enteredChain = (n: Node) => `ctsync-entered-${n.tag}`;

/** `targets`: the ctsync_targets elements (guest . proto . port), shared by every node. */
export function compileBounce(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  targets: readonly Element[],
): void {
  const pipes = pipeDevices(ctx, node);
  if (pipes.length === 0) return;
  const others = ctx.cluster.nodes.filter((n) => n !== node);
  const bridge = bridgeTable(ctx, node, plan);
  bridge.set({
    name: 'ctsync_targets',
    comment: 'forwards (strategy ctsync): guest . proto . port (the ip table has the same)',
    key: ['ipv4_addr', 'inet_proto', 'inet_service'],
    interval: false,
    elements: targets,
  });
  learnEntering(ctx, node, plan, pipes, others);
  handOn(ctx, node, plan);
  bounceToEntering(ctx, node, plan, others);
}

/** Bridge: which node each flow from the pipes entered through. */
function learnEntering(
  ctx: ClusterContext,
  node: Node,
  plan: PlanBuilder,
  pipes: readonly string[],
  others: readonly Node[],
): void {
  const bridge = bridgeTable(ctx, node, plan);
  bridge.set({
    name: 'ctsync_pipes',
    comment: `networks.*.pipes on ${node.name}: frames from the other nodes`,
    key: ['ifname'],
    interval: false,
    elements: pipes.map((p) => ({ key: [ifname(p)], comment: 'networks.*.pipes' })),
  });
  bridge.set({
    name: 'ctsync_entered',
    comment: 'forwards (strategy ctsync): client . port . guest . port -> the entering node (its tag)',
    key: ['ipv4_addr', 'inet_service', 'ipv4_addr', 'inet_service'],
    value: ['classid'],
    interval: false,
    dynamic: { size: FLOWS_MAX, timeout: BOUNCE_WINDOW_SECONDS },
    elements: [],
  });
  // Each node's own MAC, whole: a guest free to change its MAC could forge a prefix.
  const byMac: Element[] = others.map((n) => ({
    key: [etherAddr(n.bridgeMac)],
    value: [{ type: 'verdict', value: enteredChain(n) }],
    comment: `nodes.${n.name}`,
  }));
  bridge.set({
    name: 'ctsync_entering',
    comment: "nodes.*: a node's guest-bridge MAC -> the chain learning its tag",
    key: ['ether_addr'],
    value: ['verdict'],
    interval: false,
    elements: byMac,
  });
  for (const n of others) {
    bridge.chain(enteredChain(n), `forwards (strategy ctsync): entered through ${n.name}`);
    bridge.rule(enteredChain(n), `nodes.${n.name}.tag ${n.tag}: ${n.name} routed it here`, {
      kind: 'update',
      set: 'ctsync_entered',
      key: concat(ip('saddr'), l4('th', 'sport'), ip('daddr'), l4('th', 'dport')),
      value: { kind: 'const', value: classid(n.tag) },
    });
  }
  bridge.chain(
    CTSYNC_LEARN,
    'forwards (strategy ctsync): the node each flow entered through',
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.filter, policy: 'accept' },
    [
      "A node routes a forward's packets onto the guest bridge from its own MAC, which carries its",
      "tag. Every packet renews the flow's 2 s, not only the first: a flow whose copy never came",
      '(a sync message lost, NOTRACK mode does not resend) is answered through the entering node.',
    ],
  );
  bridge.rule(
    CTSYNC_LEARN,
    "a packet another node routed here, to a forward's guest port",
    { kind: 'match-set', left: meta('iifname'), set: 'ctsync_pipes' },
    {
      kind: 'match-set',
      left: concat(ip('daddr'), meta('l4proto'), l4('th', 'dport')),
      set: 'ctsync_targets',
    },
    vmap(ether('saddr'), 'ctsync_entering'),
  );
}

/** Bridge: a guest's reply of a learned flow carries the entering node's tag to the IP layer. */
function handOn(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  const bridge = bridgeTable(ctx, node, plan);

  bridge.chain(
    CTSYNC_HAND_ON,
    "forwards (strategy ctsync): a guest's reply carries its flow's entering node to the IP layer",
    { type: 'filter', hook: 'input', priority: PRIORITY.filter, policy: 'accept' },
    ["Frames to this node from its guests. The packet's priority holds the tag until ip prerouting."],
  );
  bridge.rule(
    CTSYNC_HAND_ON,
    "a forward's reply: priority 0 (a guest's own is not a tag), then its flow's entering node",
    // The bridge family hooks every bridge of the host: only frames to this node's guest bridges.
    eq(ether('daddr'), etherAddr(node.bridgeMac)),
    { kind: 'match-set', left: meta('iifname'), set: 'ctsync_pipes', negate: true },
    {
      kind: 'match-set',
      left: concat(ip('saddr'), meta('l4proto'), l4('th', 'sport')),
      set: 'ctsync_targets',
    },
    setField(meta('priority'), { kind: 'const', value: classid(0) }),
    setField(
      meta('priority'),
      lookup(concat(ip('daddr'), l4('th', 'dport'), ip('saddr'), l4('th', 'sport')), 'ctsync_entered'),
    ),
  );
}

/** IP: a reply this node has no entry for goes to the entering node's address on its bridge. */
function bounceToEntering(ctx: ClusterContext, node: Node, plan: PlanBuilder, others: readonly Node[]): void {
  const table = ipTable(ctx, node, plan);
  const anycast = new Set(ctx.anycast);
  const elements: Element[] = [];
  for (const network of ctx.cluster.networks.filter((n) => anycast.has(n))) {
    if (!network.nodeAddresses.has(node.name)) continue;
    for (const n of others) {
      const address = network.nodeAddresses.get(n.name);
      if (address === undefined) continue;
      elements.push({
        key: [classid(n.tag), ifname(network.bridge)],
        value: [v4(formatIPv4(address))],
        comment: `networks.${network.name}.nodes.${n.name}`,
      });
    }
  }
  table.set({
    name: OUTRAN,
    comment: `forwards (strategy ctsync): client . port . guest . port of replies sent back, kept ${OUTRAN_SECONDS} s`,
    notes: [
      'The flows whose replies outran the sync on this node (nft list set ip convergent ctsync_outran);',
      'the lab reads it to tell a reply sent back from one that left through the wrong node.',
    ],
    key: ['ipv4_addr', 'inet_service', 'ipv4_addr', 'inet_service'],
    interval: false,
    dynamic: { size: FLOWS_MAX, timeout: OUTRAN_SECONDS },
    elements: [],
  });
  table.set({
    name: 'ctsync_bounce_to',
    comment: "forwards (strategy ctsync): entering node's tag . guest bridge -> its address there",
    key: ['classid', 'ifname'],
    value: ['ipv4_addr'],
    interval: false,
    elements,
  });
  table.chain(
    CTSYNC_BOUNCE,
    'forwards (strategy ctsync): replies that outran the sync, to the entering node',
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.mangle, policy: 'accept' },
    [
      'After conntrack (-200): a reply with no replicated entry yet is INVALID (a SYN-ACK) or NEW.',
      'A copy goes to the node the client entered, untracked; that node un-DNATs it from its own entry.',
    ],
  );
  table.rule(
    CTSYNC_BOUNCE,
    'forwards (ctsync): the entering node holds the flow',
    ne(meta('priority'), classid(0)),
    {
      kind: 'match-set',
      left: concat(ip('saddr'), meta('l4proto'), l4('th', 'sport')),
      set: 'ctsync_targets',
    },
    eq(ct('state'), ctState('invalid', 'new')),
    { kind: 'dup', to: lookup(concat(meta('priority'), meta('iifname')), 'ctsync_bounce_to') },
    counter,
    // After the copy: a full set only leaves the flow off the record (and ctsync-forward drops this).
    {
      kind: 'update',
      set: OUTRAN,
      key: concat(ip('daddr'), l4('th', 'dport'), ip('saddr'), l4('th', 'sport')),
    },
    drop,
  );
}
