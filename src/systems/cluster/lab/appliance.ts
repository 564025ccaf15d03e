// The appliance a network inserts (seed 004's firewall, F34) is a real stateful firewall in its
// guest's namespace: it forwards (ip_forward=1), tracks every flow it forwards and counts each
// direction (`ct direction original` / `reply`: a check proves a flow passed it both ways), drops
// what its conntrack finds invalid (a reply it never saw the start of: the seed's one-sided NOTRACK),
// and answers management (tcp/443) on its management NIC only. Per-flow counts (a set element per
// protocol, and per client port: the port kept through every NAT on the path) tell one check's
// packets from a late retransmission of another's: a packet steered into its transit
// port for its management address is dropped, as the seed's appliance did. rp_filter is off: it
// receives packets whose source it would not route back by that NIC (the tenant's, by its default).
import { LabError } from '../../../lab/errors.ts';
import type { Cluster } from '../model.ts';
import type { LabInstance } from './build.ts';
import type { Topology } from './topology.ts';

export const APPLIANCE_TABLE = 'convergent_appliance';
/** The port the appliance answers management on. */
export const MANAGEMENT_PORT = 443;

export interface Appliance {
  readonly guest: string;
  /** Its NIC on the transit network (where the router steers traffic to it). */
  readonly transit: string;
  /** Its other NICs: management is answered there. */
  readonly management: readonly string[];
}

/** Each guest some network inserts, once, with its interfaces in the lab. */
export function appliancesOf(cluster: Cluster, topology: Topology): Appliance[] {
  const byGuest = new Map<string, Appliance>();
  for (const network of cluster.networks) {
    const insert = network.router?.insert;
    if (!insert || byGuest.has(insert.appliance)) continue;
    const nics = topology.guests.filter((g) => g.guest.name === insert.appliance);
    const transit = nics.find((g) => g.network.name === insert.transit)?.ifname ?? 'eth0';
    byGuest.set(insert.appliance, {
      guest: insert.appliance,
      transit,
      management: nics.map((g) => g.ifname).filter((i) => i !== transit),
    });
  }
  return [...byGuest.values()];
}

export function applianceRuleset(a: Appliance): string {
  const management =
    a.management.length === 0
      ? `tcp dport ${MANAGEMENT_PORT} counter name "refused" drop`
      : `iifname != { ${a.management.map((i) => `"${i}"`).join(', ')} } tcp dport ${MANAGEMENT_PORT} counter name "refused" drop`;
  return `table inet ${APPLIANCE_TABLE}
delete table inet ${APPLIANCE_TABLE}
table inet ${APPLIANCE_TABLE} {
  counter original {}
  counter reply {}
  counter invalid {}
  counter refused {}
  set original_protos { type inet_proto; flags dynamic; counter; }
  set reply_protos { type inet_proto; flags dynamic; counter; }
  set original_ports { type inet_proto . inet_service; flags dynamic; counter; }
  set reply_ports { type inet_proto . inet_service; flags dynamic; counter; }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state invalid counter name "invalid" drop
    ct direction original counter name "original" update @original_protos { meta l4proto }
    ct direction reply counter name "reply" update @reply_protos { meta l4proto }
    ct direction original meta l4proto { tcp, udp } update @original_ports { meta l4proto . th sport }
    ct direction reply meta l4proto { tcp, udp } update @reply_ports { meta l4proto . th dport }
    ct state established,related accept
    ct state new accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ${management}
  }
}
`;
}

/** The sysctls of a router that forwards what it receives on one NIC back out of the same one. */
function applianceSysctls(a: Appliance): string[] {
  const ifaces = ['all', 'default', a.transit, ...a.management];
  return [
    'net.ipv4.ip_forward=1',
    ...ifaces.flatMap((i) => [`net.ipv4.conf.${i}.rp_filter=0`, `net.ipv4.conf.${i}.send_redirects=0`]),
  ];
}

/** Each appliance's firewall, in its namespace; the lines for the progress output. */
export function startAppliances(lab: LabInstance): string[] {
  return appliancesOf(lab.cluster, lab.topology).map((a) => {
    const inNs = ['ip', 'netns', 'exec', lab.ns(a.guest)];
    lab.runner([...inNs, 'sysctl', '-q', '-w', ...applianceSysctls(a)]);
    const r = lab.runner([...inNs, 'nft', '-f', '-'], { input: applianceRuleset(a) });
    if (r.code !== 0)
      throw new LabError(`appliance ${a.guest}: its firewall did not load: ${r.stderr.trim()}`);
    return `appliance ${a.guest}: stateful firewall (forwarding from ${a.transit}, management on ${a.management.join(', ') || 'no NIC'}), rp_filter off`;
  });
}

export interface ApplianceCounters {
  readonly original: number;
  readonly reply: number;
  readonly invalid: number;
  readonly refused: number;
}

/** What a check's packets are known by at the appliance: its client port, else its protocol. */
export interface FlowKey {
  /** nft's name for the protocol ("tcp", "icmp") and its number. */
  readonly proto: readonly [string, number];
  readonly clientPort?: number;
}

/** The appliance's counters now (packets): of the flow when a key is given, else of everything. */
export function readCounters(lab: LabInstance, guest: string, flow?: FlowKey): ApplianceCounters {
  const inNs = ['ip', 'netns', 'exec', lab.ns(guest), 'nft', '-j', 'list'];
  const counts: Record<string, number> = {};
  for (const item of nftItems(lab.runner([...inNs, 'counters']).stdout))
    if (item.counter?.name) counts[item.counter.name] = item.counter.packets ?? 0;
  const ofSet = (set: string): number => {
    const r = lab.runner([...inNs, 'set', 'inet', APPLIANCE_TABLE, set]);
    const elems = nftItems(r.stdout).flatMap((i) => i.set?.elem ?? []);
    return elems
      .filter((e) => flow !== undefined && matches(e.elem?.val, flow))
      .reduce((sum, e) => sum + (e.elem?.counter?.packets ?? 0), 0);
  };
  const by = flow?.clientPort === undefined ? 'protos' : 'ports';
  return {
    original: flow ? ofSet(`original_${by}`) : (counts.original ?? 0),
    reply: flow ? ofSet(`reply_${by}`) : (counts.reply ?? 0),
    invalid: counts.invalid ?? 0,
    refused: counts.refused ?? 0,
  };
}

type Val = string | number | { concat?: (string | number)[] } | undefined;

function matches(val: Val, flow: FlowKey): boolean {
  const isProto = (v: string | number | undefined) => v === flow.proto[0] || v === flow.proto[1];
  if (typeof val === 'object') {
    const [proto, port] = val.concat ?? [];
    return isProto(proto) && port === flow.clientPort;
  }
  return isProto(val);
}

interface NftItem {
  readonly counter?: { readonly name?: string; readonly packets?: number };
  readonly set?: { readonly elem?: { elem?: { val?: Val; counter?: { packets?: number } } }[] };
}

/** The objects of `nft -j list ...`; none when it failed (an appliance that did not start). */
function nftItems(stdout: string): NftItem[] {
  try {
    return (JSON.parse(stdout) as { nftables?: NftItem[] }).nftables ?? [];
  } catch {
    return [];
  }
}
