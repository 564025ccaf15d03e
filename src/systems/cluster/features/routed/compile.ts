// IP-less routed networks' nft part (seed 003, gnt-networking's routed setup), two tables per node:
// - `arp convergent_arp`: the ARP requests the node sends carry, as sender, an address of the
//   network's and not the node's own: toward the uplink the network's ARP address, toward a guest's
//   tap its gateway (gnt-networking's arptables mangle). Without it the node's public address lands
//   in the upstream router's and the guests' neighbour tables.
// - `inet convergent_routed`: anti-spoofing from the taps (F20) and the firewall profiles toward
//   them (F25). Unlike the bridge ports' table the inet family has conntrack: the profiles keep state.
// Every rule is written once; a guest is elements keyed by its tap, added by `nic up` (elements.ts):
// the rules are the same for 10 guests or 10,000.
import type { PlanBuilder, TableDraft } from '../../../../host/builder.ts';
import {
  arp,
  type Const,
  concat,
  counter,
  ct,
  ctState,
  drop,
  type Expr,
  eq,
  FILLED_BY_NIC,
  ifname,
  inSet,
  ip,
  ip6,
  l4,
  lookup,
  meta,
  notLoneSyn,
  PRIORITY,
  type Statement,
  service,
  setField,
  v4,
  v6,
  vmap,
} from '../../../../nft/tree.ts';
import { formatIPv4 } from '../../../../util/ipv4.ts';
import type { ClusterContext } from '../../compile/context.ts';
import type { Node } from '../../model.ts';
import { ARP_SOURCE, ARP_TABLE, ROUTED_CHAINS, ROUTED_SETS, ROUTED_TABLE } from './names.ts';
import { raPlan } from './ra-render.ts';

const accept: Statement = { kind: 'verdict', verdict: 'accept' };
const back: Statement = { kind: 'verdict', verdict: 'return' };
const oneOf = (left: Expr, ...values: Const[]): Statement => ({
  kind: 'match',
  left,
  op: 'eq',
  right: { kind: 'anonymous-set', values },
});
const icmpv6Type = { kind: 'payload', header: 'icmpv6', field: 'type' } as const;
const nd = (...value: Extract<Const, { type: 'icmpv6_type' }>['value'][]) =>
  oneOf(icmpv6Type, ...value.map((v) => ({ type: 'icmpv6_type', value: v }) as const));

export function compileRouted(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  if (ctx.cluster.routed.length === 0) return;
  const ra = raPlan(ctx.cluster);
  if (ra) plan.routerAdvertisements = ra;
  if (!ctx.faults.has('no-arp-source')) arpTable(ctx, node, plan);
  const table = plan.table(
    'inet',
    `convergent: cluster ${ctx.cluster.name}, node ${node.name}, routed guest taps (elements from nic up)`,
    ROUTED_TABLE,
  );
  declareSets(table);
  antispoofChain(table);
  profileChains(table);
  hooks(table);
  toNode(ctx, node, table);
}

/**
 * What a guest may send to the node itself. The local table comes before any policy rule, so without
 * this a tenant reaches every service on every address of the node (sshd, ganeti-noded, DRBD).
 * Neighbour discovery on the tap, replies to the node's own connections, and on the router node the
 * gateway addresses it holds; nothing else.
 */
function toNode(ctx: ClusterContext, node: Node, table: TableDraft): void {
  table.chain(ROUTED_CHAINS.toNode, 'packets to the node itself', {
    type: 'filter',
    hook: 'input',
    priority: PRIORITY.filter,
    policy: 'accept',
  });
  table.rule(ROUTED_CHAINS.toNode, 'from a routed tap', inSet(meta('iifname'), ROUTED_SETS.plugged), {
    kind: 'jump',
    chain: ROUTED_CHAINS.guestToNode,
  });
  const g = ROUTED_CHAINS.guestToNode;
  table.chain(g, "a guest's packets to the node: neighbour discovery, replies, its router's gateway");
  table.rule(
    g,
    "replies to the node's own connections",
    eq(ct('state'), ctState('established', 'related')),
    accept,
  );
  table.rule(
    g,
    'neighbour and router solicitations, MLD: the tap answers them',
    nd('nd-router-solicit', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'mld2-listener-report'),
    accept,
  );
  for (const n of ctx.cluster.routed.filter((r) => r.router === node.name)) {
    table.rule(
      g,
      `networks.${n.name}.gateway: this node is its router`,
      eq(ip('daddr'), v4(formatIPv4(n.gateway))),
      accept,
    );
    if (n.gateway6 !== undefined)
      table.rule(
        g,
        `networks.${n.name}.gateway6: this node is its router`,
        eq(ip6('daddr'), v6(n.gateway6)),
        accept,
      );
  }
  table.rule(g, 'any other address or service of the node', counter, drop);
}

/** One rule; the map says which interface sends with which source (nic up adds the taps). */
function arpTable(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  const table = plan.table(
    'arp',
    `convergent: cluster ${ctx.cluster.name}, node ${node.name}, ARP sources of routed networks`,
    ARP_TABLE,
  );
  table.set({
    name: ARP_SOURCE,
    comment: 'interface -> the sender address of its ARP requests (uplinks here, taps from nic up)',
    key: ['ifname'],
    value: ['ipv4_addr'],
    interval: false,
    filledBy: 'nic',
    // The router node owns the gateway on the uplink: its requests carry that address unmangled.
    elements: ctx.cluster.routed
      .filter((n) => n.router !== node.name)
      .map((n) => ({
        key: [ifname(n.uplink.device)],
        value: [v4(formatIPv4(n.arpAddress))],
        comment: `networks.${n.name}.arpAddress`,
      })),
  });
  table.chain(
    ROUTED_CHAINS.arpOutput,
    'ARP requests the node sends',
    {
      type: 'filter',
      hook: 'output',
      priority: PRIORITY.filter,
      policy: 'accept',
    },
    [
      'An interface not in the map ends the rule at its lookup, unchanged: no "oifname @arp_source"',
      "test first (a map used as a set is refused by older kernels, Debian 12's 6.1 among them).",
    ],
  );
  table.rule(
    ROUTED_CHAINS.arpOutput,
    'the sender address the interface is given',
    eq(arp('operation'), { type: 'arp_op', value: 'request' }),
    setField(arp('saddr ip'), lookup(meta('oifname'), ARP_SOURCE)),
  );
}

/** Empty in the file: a tap is known only when the hypervisor plugs it (`nic up`). */
function declareSets(table: TableDraft): void {
  const set = (name: string, comment: string, key: ('ipv4_addr' | 'ipv6_addr')[]) =>
    table.set({ name, comment, key: ['ifname', ...key], ...FILLED_BY_NIC });
  set(ROUTED_SETS.plugged, 'the routed taps nic up plugged', []);
  set(ROUTED_SETS.ipv4, "guests.*.nics[].address: the tap's one IPv4 source", ['ipv4_addr']);
  set(ROUTED_SETS.ipv6, 'guests.*.nics[].address6 (or EUI-64) and the link-local of the MAC', ['ipv6_addr']);
  const map = (name: string, comment: string) =>
    table.set({ name, comment, key: ['ifname'], value: ['verdict'], ...FILLED_BY_NIC });
  map(ROUTED_SETS.fromGuest, 'routed taps with spoof: drop: anti-spoofing');
  map(ROUTED_SETS.toProfile, 'routed taps with firewall protected or limited');
}

/** F20: a guest sends from its own addresses only; neighbour discovery stays on its tap. */
function antispoofChain(table: TableDraft): void {
  const a = ROUTED_CHAINS.antispoof;
  const tap = meta('iifname');
  table.chain(a, "anti-spoofing (F20): only the NIC's own addresses leave its tap");
  table.rule(a, "IPv4 from the NIC's address", inSet(concat(tap, ip('saddr')), ROUTED_SETS.ipv4), back);
  table.rule(
    a,
    'DHCP discover and request, sent before the guest has an address (nfdhcpd answers them)',
    eq(ip('saddr'), v4('0.0.0.0')),
    eq(l4('udp', 'sport'), service(68)),
    eq(l4('udp', 'dport'), service(67)),
    back,
  );
  table.rule(
    a,
    'a guest is no router: its router advertisements and redirects (spoof: allow for one that is)',
    nd('nd-router-advert', 'nd-redirect'),
    counter,
    drop,
  );
  table.rule(
    a,
    'IPv6 from address6 or the link-local of the MAC',
    inSet(concat(tap, ip6('saddr')), ROUTED_SETS.ipv6),
    back,
  );
  table.rule(
    a,
    'neighbour and router solicitations, MLD, from any link-local (RFC 7217): they never leave the tap',
    eq(ip6('saddr'), v6('fe80::/10')),
    nd('nd-router-solicit', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'mld2-listener-report'),
    back,
  );
  table.rule(
    a,
    'duplicate address detection: a neighbour solicitation (and its MLD report) from ::',
    eq(ip6('saddr'), v6('::')),
    nd('nd-neighbor-solicit', 'mld2-listener-report'),
    back,
  );
  table.rule(a, 'another source address', counter, drop);
}

/** F25, gnt-networking's ferm profiles toward the guest, with conntrack; "unprotected" taps are not in the map. */
function profileChains(table: TableDraft): void {
  const p = ROUTED_CHAINS.protected;
  table.chain(p, "firewall: protected (F25): the guest's own connections and ICMP only");
  table.rule(
    p,
    "replies of the guest's own connections",
    eq(ct('state'), ctState('established', 'related')),
    accept,
  );
  table.rule(
    p,
    "TCP but a lone SYN: connections older than this node's conntrack (a guest migrated here)",
    notLoneSyn,
    accept,
  );
  table.rule(
    p,
    'ICMP and ICMPv6',
    oneOf(meta('l4proto'), { type: 'inet_proto', value: 'icmp' }, { type: 'inet_proto', value: 'ipv6-icmp' }),
    accept,
  );
  table.rule(p, 'a new connection or anything else', counter, drop);
  const l = ROUTED_CHAINS.limited;
  table.chain(l, 'firewall: limited (F25): protected, and new TCP to SSH and RDP');
  table.rule(l, 'SSH and RDP', oneOf(l4('tcp', 'dport'), service(22), service(3389)), accept);
  table.rule(l, 'the rest as protected', { kind: 'jump', chain: p });
}

/**
 * From the guest at prerouting, priority raw: before conntrack, so a spoofed packet leaves no
 * connection behind. Toward the guest at forward: the node routes to the tap (no bridge here, so no
 * frames of its own toward a guest to filter at output).
 */
function hooks(table: TableDraft): void {
  table.chain(
    ROUTED_CHAINS.fromGuest,
    'packets from routed taps',
    { type: 'filter', hook: 'prerouting', priority: PRIORITY.raw, policy: 'accept' },
    ['An interface not in the map (the uplink, an unplugged tap) passes: only guests are checked.'],
  );
  table.rule(
    ROUTED_CHAINS.fromGuest,
    'routed taps: anti-spoofing',
    vmap(meta('iifname'), ROUTED_SETS.fromGuest),
  );
  table.chain(ROUTED_CHAINS.toGuest, 'packets routed toward routed taps', {
    type: 'filter',
    hook: 'forward',
    priority: PRIORITY.filter,
    policy: 'accept',
  });
  table.rule(ROUTED_CHAINS.toGuest, 'firewall profiles', vmap(meta('oifname'), ROUTED_SETS.toProfile));
}
