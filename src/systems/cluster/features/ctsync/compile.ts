// CT-SYNC inbound (seed part 3, option 2): the entering node DNATs, conntrackd replicates the flow
// to every node, and the guest's own node un-DNATs the reply from the replicated entry. The guest
// sees the client's real address; the reply leaves through the guest's node, from the address the
// client dialled. conntrackd (FTFW for two nodes, NOTRACK for more) writes straight into the kernel
// table (no external cache), so a copy works the moment it lands: 0.2-0.6 ms after the first packet.
//
// What the races cost, and the rules that keep them harmless:
//   the guest's SYN-ACK outruns the replication: it has no entry on its node, so it goes back to
//     the entering node, which un-DNATs it from its own entry (bounce.ts); one that node does not
//     know either is dropped, never sent un-NATed, and the guest resends it after 1 s.
//   the client's ACK outruns the replicated SYN_RECV on the entering node: it is INVALID, so DNAT
//     skips it, and the node's own stack would answer RST. It is rewritten to the guest statelessly
//     instead; dropped, it would cost a protocol where the server speaks first 2 s more.
//   a UDP reply outruns the replication: it would open an un-NATed flow of its own; it goes back
//     to the entering node the same way (dropped only when that is unknown too).

import type { PlanBuilder, TableDraft } from '../../../../host/builder.ts';
import {
  concat,
  counter,
  ct,
  ctState,
  drop,
  eq,
  ifname,
  ip,
  l4,
  meta,
  notrack,
  PRIORITY,
  service,
  v4,
} from '../../../../nft/tree.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import { type ClusterContext, distinctTargets, type ElementCache } from '../../compile/context.ts';
import { compileDnat } from '../../compile/dnat.ts';
import { rewriteMaps, rewriteRules } from '../../compile/rewrite.ts';
import { bridgeTable, ipTable } from '../../compile/tables.ts';
import type { Network, Node, Sync } from '../../model.ts';
import { compileBounce } from './bounce.ts';

export const CTSYNC_NOTRACK = 'ctsync-notrack';
export const CTSYNC_NOTRACK_OUT = 'ctsync-notrack-out';
export const CTSYNC_EARLY = 'ctsync-early';
export const CTSYNC_EARLY_REWRITE = 'ctsync-early-rewrite';
export const CTSYNC_FORWARD = 'ctsync-forward';
export const SYNC_GUARD_IN = 'sync-guard-in';
export const SYNC_GUARD_OUT = 'sync-guard-out';

export function compileCtsync(ctx: ClusterContext, node: Node, plan: PlanBuilder, cache: ElementCache): void {
  const sync = ctx.cluster.sync;
  // No sync when every ctsync forward leads behind a router: its router DNATs them plainly.
  if (!sync || !ctx.uses.ctsync) return;
  const network = ctx.cluster.networks.find((n) => n.name === sync.network);
  if (!network) throw new Error(`compile: sync network ${sync.network} not found`);

  compileDnat(ctx, node, plan, cache, 'ctsync');
  const table = ipTable(ctx, node, plan);
  rewriteMaps(ctx, node, table, cache, 'ctsync', 'ctsync_guest');
  // Every node's guests, not only this node's: after a migration the replicated state makes any
  // node the one that answers for a guest.
  let targets = cache.get('ctsync-targets');
  if (!targets) {
    targets = distinctTargets(ctx, 'ctsync').map((t) => t.element);
    cache.set('ctsync-targets', targets);
  }
  table.set({
    name: 'ctsync_targets',
    comment: 'forwards (strategy ctsync): guest . proto . port',
    key: ['ipv4_addr', 'inet_proto', 'inet_service'],
    interval: false,
    elements: targets,
  });

  compileOutran(node, table);
  compileBounce(ctx, node, plan, targets);
  const site: SyncSite = { ctx, node, plan, sync, network };
  compileSyncTraffic(site);
  compileSyncSettings(site);
}

/** Where conntrackd syncs, on one node. */
interface SyncSite {
  readonly ctx: ClusterContext;
  readonly node: Node;
  readonly plan: PlanBuilder;
  readonly sync: Sync;
  readonly network: Network;
}

/** The packets that outrun conntrackd, on the entering node and on the guest's node. */
function compileOutran(node: Node, table: TableDraft): void {
  table.chain(
    CTSYNC_EARLY,
    'forwards (strategy ctsync): packets that outran the sync, entering node',
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.mangle, policy: 'accept' },
    [
      "After conntrack (-200), before DNAT (-100): the client's ACK that arrives before the guest's",
      'node replicated SYN_RECV back is INVALID and skipped by DNAT; it goes to the guest regardless.',
    ],
  );
  table.rule(
    CTSYNC_EARLY,
    `forwards (ctsync) on ${node.name}'s public address, no usable entry yet`,
    eq(meta('iifname'), ifname(node.uplinkBridge)),
    eq(ip('daddr'), v4(formatIPv4(node.address))),
    eq(ct('state'), ctState('invalid')),
    { kind: 'match-set', left: concat(meta('l4proto'), l4('th', 'dport')), set: 'ctsync_ports' },
    counter,
    { kind: 'goto', chain: CTSYNC_EARLY_REWRITE },
  );
  table.chain(CTSYNC_EARLY_REWRITE, 'forwards (strategy ctsync): to the guest, without conntrack');
  rewriteRules(table, CTSYNC_EARLY_REWRITE, 'ctsync', 'ctsync_guest');
  table.chain(
    CTSYNC_FORWARD,
    'forwards (strategy ctsync): replies that outran the sync, guest node',
    { type: 'filter', hook: 'forward', priority: PRIORITY.filter, policy: 'accept' },
    [
      "A reply from a forward's guest port with no replicated entry yet that ctsync-bounce could not send",
      'back (no entering node known): a SYN-ACK is INVALID, a UDP reply would leave un-NATed. Dropped.',
    ],
  );
  table.rule(
    CTSYNC_FORWARD,
    'forwards (ctsync): the guest resends once the entry is here',
    {
      kind: 'match-set',
      left: concat(ip('saddr'), meta('l4proto'), l4('th', 'sport')),
      set: 'ctsync_targets',
    },
    eq(ct('state'), ctState('invalid', 'new')),
    counter,
    drop,
  );
}

/** Sync traffic: untracked, and only on the pipes of its network. */
function compileSyncTraffic({ ctx, node, plan, sync, network }: SyncSite): void {
  const syncNote = `sync: ${formatIPv4(sync.group)} udp/${sync.port} on ${network.bridge}`;
  const table = ipTable(ctx, node, plan);
  // The sync traffic itself: never tracked, or conntrackd would replicate its own flow.
  const syncTraffic = [
    eq(ip('daddr'), v4(formatIPv4(sync.group))),
    eq(l4('udp', 'dport'), service(sync.port)),
  ];
  for (const [chain, hook, comment] of [
    [CTSYNC_NOTRACK, 'prerouting', 'sync: from the other nodes'],
    [CTSYNC_NOTRACK_OUT, 'output', `sync: from ${node.name}`],
  ] as const) {
    table.chain(chain, `${syncNote}: not tracked`, {
      type: 'filter',
      hook,
      priority: PRIORITY.raw,
      policy: 'accept',
    });
    table.rule(chain, comment, ...syncTraffic, notrack);
  }

  // The sync carries every flow of the cluster: no guest may read it or write into it.
  const bridge = bridgeTable(ctx, node, plan);
  bridge.set({
    name: 'sync_pipes',
    comment: `networks.${network.name}.pipes on ${node.name}: the only ports sync traffic may use`,
    key: ['ifname'],
    interval: false,
    elements: (ctx.pipesByNode.get(node.name) ?? [])
      .filter((p) => p.network === network)
      .map((p) => ({ key: [ifname(p.ifname)], comment: `networks.${network.name}.pipes` })),
  });
  const syncPort = eq(l4('udp', 'dport'), service(sync.port));
  for (const [chain, hook, port, words, comment] of [
    [
      SYNC_GUARD_IN,
      'prerouting',
      'iifname',
      'only from the pipes',
      'sync: a guest or the uplink cannot inject conntrack entries',
    ],
    [
      SYNC_GUARD_OUT,
      'postrouting',
      'oifname',
      'only to the pipes',
      "sync: guests never see the cluster's flows",
    ],
  ] as const) {
    bridge.chain(chain, `${syncNote}: ${words}`, { type: 'filter', hook, priority: -200, policy: 'accept' });
    bridge.rule(
      chain,
      comment,
      syncPort,
      { kind: 'match-set', left: meta(port), set: 'sync_pipes', negate: true },
      counter,
      drop,
    );
  }
}

/** Kernel settings ctsync relies on, and the node's conntrackd. */
function compileSyncSettings({ ctx, node, plan, sync, network }: SyncSite): void {
  const source = `strategy ctsync (${sync.path.join('.')})`;
  if (!ctx.faults.has('ctsync-bridge-netfilter'))
    plan.sysctl(
      ['net', 'bridge', 'bridge-nf-call-iptables'],
      '0',
      `${source}: a bridged copy of a replicated flow must not meet conntrack ("-": br_netfilter not loaded)`,
      true,
    );
  plan.module('nf_conntrack', `${source}: the tcp_be_liberal setting below`);
  plan.sysctl(
    ['net', 'netfilter', 'nf_conntrack_tcp_be_liberal'],
    '1',
    `${source}: each node sees one direction of a flow, never both windows`,
  );
  plan.conntrackd = {
    interface: network.bridge,
    address: formatIPv4(network.nodeAddresses.get(node.name) as number),
    group: formatIPv4(sync.group),
    port: sync.port,
    mode: sync.mode,
    peers: ctx.cluster.nodes
      .filter((n) => n.name !== node.name)
      .map((n) => formatIPv4(network.nodeAddresses.get(n.name) as number)),
    source,
  };
}
