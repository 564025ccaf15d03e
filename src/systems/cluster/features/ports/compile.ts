// Guest ports (seed 003, gnt-networking): anti-spoofing at every guest's port (F20), private networks
// kept apart by MAC prefix on a shared bridge (F23) and the firewall profiles toward a guest (F25),
// as one bridge-family table per node. gnt-networking adds ebtables chains and iptables rules per tap
// (FROMTAP5/TOTAP5, `-m physdev --physdev-out tap5 -j protected`); here every rule is written once,
// and a guest is only elements of sets and maps keyed by its port, added by `nic up` (elements.ts):
// the work per packet is a few hash lookups whether a node hosts 10 guests or 10,000.
//
// Verified on this kernel with nft 1.0.6 (test/lab/nic.test.ts sends the frames): concatenations of
// ifname . ether_addr . ipv4_addr (and arp saddr ether . arp saddr ip) in a bridge-family set, `!= @set`,
// and `iifname vmap @map` all load and match. Bridge-family conntrack is missing here (seed §9), so
// the profiles are stateless, as gnt-networking's ferm chains are: "not a lone SYN" stands for
// "a reply of the guest's own connection".
import type { PlanBuilder, TableDraft } from '../../../../host/builder.ts';
import {
  arp,
  concat,
  counter,
  drop,
  type Expr,
  eq,
  ether,
  etherAddr,
  etherType,
  FILLED_BY_NIC,
  inSet,
  ip,
  ip6,
  konst,
  l4,
  meta,
  notLoneSyn,
  type Statement,
  service,
  v4,
  v6,
  vmap,
} from '../../../../nft/tree.ts';
import type { ClusterContext } from '../../compile/context.ts';
import type { Cluster, Guest, Node, RoutedNetwork } from '../../model.ts';
import { MAC_PREFIX_MASK, PORT_CHAINS, PORT_SETS, PORTS_TABLE, prefixMac, privateChain } from './names.ts';

const accept: Statement = { kind: 'verdict', verdict: 'accept' };
const port = meta('iifname');
const notIn = (left: Expr, set: string): Statement => ({ kind: 'match-set', left, set, negate: true });
const oneOf = (left: Expr, ...values: Parameters<typeof konst>[0][]): Statement => ({
  kind: 'match',
  left,
  op: 'eq',
  right: { kind: 'anonymous-set', values },
});

/**
 * Whether any bridge port of the cluster has something to guard: then every node gets the table
 * (guests migrate). A NIC on a routed network has no bridge port: features/routed guards its tap.
 */
export function portsInUse(cluster: {
  readonly guests: readonly Pick<Guest, 'nics'>[];
  readonly routed: readonly Pick<RoutedNetwork, 'name'>[];
}): boolean {
  const routed = new Set(cluster.routed.map((r) => r.name));
  return cluster.guests.some((g) =>
    g.nics.some((n) => !routed.has(n.network) && (n.mac !== undefined || n.firewall !== 'unprotected')),
  );
}

export function compilePorts(ctx: ClusterContext, node: Node, plan: PlanBuilder): void {
  if (!portsInUse(ctx.cluster)) return;
  const table = plan.table(
    'bridge',
    `convergent: cluster ${ctx.cluster.name}, node ${node.name}, guest ports (elements from nic up)`,
    PORTS_TABLE,
  );
  declareSets(table);
  antispoofChains(table);
  privateChains(ctx.cluster, table);
  profileChains(table);
  hooks(ctx, table);
}

/** Empty in the file: a port is known only when the hypervisor plugs its tap (`nic up`). */
function declareSets(table: TableDraft): void {
  const set = (name: string, comment: string, key: ('ether_addr' | 'ipv4_addr' | 'ipv6_addr')[]) =>
    table.set({ name, comment, key: ['ifname', ...key], ...FILLED_BY_NIC });
  set(
    PORT_SETS.plugged,
    'the taps nic up plugged: tags and BPDUs are dropped there; the hooks find stale plugs by it',
    [],
  );
  set(PORT_SETS.mac, "guests.*.nics[].mac: the port's own MAC", ['ether_addr']);
  set(PORT_SETS.ipv4, "guests.*.nics[].address: the port's MAC and IPv4 address", [
    'ether_addr',
    'ipv4_addr',
  ]);
  set(PORT_SETS.ipv6, 'guests.*.nics[].address6 and the link-local of the MAC', ['ether_addr', 'ipv6_addr']);
  const map = (name: string, comment: string) =>
    table.set({ name, comment, key: ['ifname'], value: ['verdict'], ...FILLED_BY_NIC });
  map(PORT_SETS.fromGuest, 'guest ports: anti-spoofing (spoof: drop) or the MAC check alone');
  map(PORT_SETS.toPrivate, 'guest ports on private networks: their MAC prefix filter');
  map(PORT_SETS.toProfile, 'guest ports with firewall protected or limited');
}

/** F20: a guest's frames carry its own MAC and its own IPv4/IPv6 source and ARP sender, or are dropped. */
function antispoofChains(table: TableDraft): void {
  const a = PORT_CHAINS.antispoof;
  table.chain(a, "anti-spoofing (F20): only the NIC's own MAC and addresses leave its port");
  const otherMac = (chain: string) =>
    table.rule(
      chain,
      'a frame from another MAC',
      notIn(concat(port, ether('saddr')), PORT_SETS.mac),
      counter,
      drop,
    );
  otherMac(a);
  table.rule(
    a,
    "ARP: the NIC's own MAC and address as sender",
    inSet(concat(port, arp('saddr ether'), arp('saddr ip')), PORT_SETS.ipv4),
    accept,
  );
  table.rule(
    a,
    'ARP probe (RFC 5227) before the address is taken: sender 0.0.0.0',
    eq(arp('saddr ip'), v4('0.0.0.0')),
    inSet(concat(port, arp('saddr ether')), PORT_SETS.mac),
    accept,
  );
  table.rule(
    a,
    "IPv4 from the NIC's own address",
    inSet(concat(port, ether('saddr'), ip('saddr')), PORT_SETS.ipv4),
    accept,
  );
  table.rule(
    a,
    'DHCP discover and request, sent before the guest has an address',
    eq(ip('saddr'), v4('0.0.0.0')),
    eq(l4('udp', 'sport'), service(68)),
    eq(l4('udp', 'dport'), service(67)),
    accept,
  );
  table.rule(
    a,
    'a guest is no IPv6 router: its router advertisements and redirects would steer the VLAN (spoof: allow for one that is)',
    oneOf(
      { kind: 'payload', header: 'icmpv6', field: 'type' },
      { type: 'icmpv6_type', value: 'nd-router-advert' },
      { type: 'icmpv6_type', value: 'nd-redirect' },
    ),
    counter,
    drop,
  );
  table.rule(
    a,
    'IPv6 from address6 or the link-local of the MAC',
    inSet(concat(port, ether('saddr'), ip6('saddr')), PORT_SETS.ipv6),
    accept,
  );
  table.rule(
    a,
    'IPv6 duplicate address detection: a neighbour solicitation from ::',
    eq(ip6('saddr'), v6('::')),
    eq(
      { kind: 'payload', header: 'icmpv6', field: 'type' },
      { type: 'icmpv6_type', value: 'nd-neighbor-solicit' },
    ),
    accept,
  );
  table.rule(a, 'another source address, or another ethertype', counter, drop);

  const own = PORT_CHAINS.ownMac;
  table.chain(own, 'private network, spoof: allow or no address: the MAC alone is checked (F23 needs it)');
  otherMac(own);
}

/** F23: toward a port on a private network, only frames from its network's MAC prefix; one chain per network. */
function privateChains(cluster: Cluster, table: TableDraft): void {
  for (const network of cluster.bridged) {
    if (network.mode !== 'private' || network.macPrefix === undefined) continue;
    const chain = privateChain(network.name);
    table.chain(
      chain,
      `networks.${network.name}: only frames from MAC prefix ${network.macPrefix} reach its guests`,
    );
    table.rule(
      chain,
      `networks.${network.name}.macPrefix ${network.macPrefix}: another network's frame`,
      {
        kind: 'match',
        left: { kind: 'mask', value: ether('saddr'), mask: etherAddr(MAC_PREFIX_MASK) },
        op: 'ne',
        right: konst(etherAddr(prefixMac(network.macPrefix))),
      },
      counter,
      drop,
    );
  }
}

/** F25, gnt-networking's ferm profiles, toward the guest; "unprotected" ports are not in the map. */
function profileChains(table: TableDraft): void {
  const p = PORT_CHAINS.protected;
  table.chain(p, 'firewall: protected (F25): replies, DNS answers, ICMP and ARP only');
  table.rule(
    p,
    "TCP but a lone SYN: the guest's own connections (stateless: no bridge conntrack here)",
    notLoneSyn,
    accept,
  );
  table.rule(p, 'DNS answers', eq(l4('udp', 'sport'), service(53)), accept);
  table.rule(
    p,
    'DHCP offers and acks: a protected guest still gets its address',
    eq(l4('udp', 'sport'), service(67)),
    eq(l4('udp', 'dport'), service(68)),
    accept,
  );
  table.rule(
    p,
    'ICMP and ICMPv6 (neighbour discovery too)',
    oneOf(meta('l4proto'), { type: 'inet_proto', value: 'icmp' }, { type: 'inet_proto', value: 'ipv6-icmp' }),
    accept,
  );
  table.rule(p, 'ARP', eq(ether('type'), etherType('arp')), accept);
  table.rule(p, 'a new connection or anything else', counter, drop);

  const l = PORT_CHAINS.limited;
  table.chain(l, 'firewall: limited (F25): protected, and new TCP to SSH and RDP');
  table.rule(l, 'SSH and RDP', oneOf(l4('tcp', 'dport'), service(22), service(3389)), accept);
  table.rule(l, 'the rest as protected', { kind: 'jump', chain: p });
}

/**
 * From the guest at prerouting (before the bridge decides where a frame goes: toward another port,
 * the node or everywhere); toward the guest at forward AND output: frames the node sends itself
 * (its multicast and broadcast on the bridge) leave through output, never through forward.
 */
function hooks(ctx: ClusterContext, table: TableDraft): void {
  const base = (hook: 'prerouting' | 'forward' | 'output') =>
    ({ type: 'filter', hook, priority: -200, policy: 'accept' }) as const;
  if (!ctx.faults.has('no-antispoof')) {
    table.chain(PORT_CHAINS.fromGuest, 'frames from guest ports', base('prerouting'), [
      'A port not in the map (the uplink, a pipe, an unplugged tap) passes: only guests are checked.',
    ]);
    // Whatever the NIC's spoof policy: a tagged frame would hop onto another VLAN of the trunk, a
    // BPDU would take part in the switches' spanning tree.
    table.rule(
      PORT_CHAINS.fromGuest,
      'guest ports: no VLAN tags (802.1Q, 802.1ad)',
      inSet(port, PORT_SETS.plugged),
      oneOf(ether('type'), etherType('8021q'), etherType('8021ad')),
      counter,
      drop,
    );
    table.rule(
      PORT_CHAINS.fromGuest,
      'guest ports: no STP BPDUs',
      inSet(port, PORT_SETS.plugged),
      eq(ether('daddr'), etherAddr('01:80:c2:00:00:00')),
      counter,
      drop,
    );
    table.rule(PORT_CHAINS.fromGuest, 'guest ports: anti-spoofing', vmap(port, PORT_SETS.fromGuest));
  }
  const toGuest = [
    [PORT_CHAINS.toGuestForward, 'forward'],
    [PORT_CHAINS.toGuestOutput, 'output'],
  ] as const;
  for (const [chain, hook] of toGuest) {
    if (hook === 'output' && ctx.faults.has('private-forward-only')) continue;
    table.chain(chain, `frames toward guest ports (${hook})`, base(hook));
    const out = meta('oifname');
    table.rule(chain, 'private networks: the MAC prefix filter', vmap(out, PORT_SETS.toPrivate));
    table.rule(chain, 'firewall profiles', vmap(out, PORT_SETS.toProfile));
  }
}
