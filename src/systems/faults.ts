// Deliberate mistakes, for the lab to show what each part of a ruleset is for. A fault reproduces a
// pitfall from the seeds; `lab test --fault NAME` must then fail, with the evidence of why.
// Never used unless asked for; a faulty plan says so at the top of its nftables.conf. A fault is
// refused on a spec it would change nothing in: a lab that "passes" with it proves nothing.

export const FAULTS = {
  'stateless-after-conntrack':
    'the stateless rewrite runs at priority -150, after conntrack (-200): conntrack keys the flow on the public address, so the guest\'s reply matches nothing and leaves unrewritten (seed part 4: "-150 was not enough")',
  'stateless-reply-port-kept':
    "the stateless reply keeps the guest's port: a translated forward (2202 -> 22) answers from port 22, which the client never dialled",
  'fullnat-without-snat':
    'the full-NAT SNAT is left out: the guest answers through its own node, which has no state for the flow and cannot undo the DNAT',
  'proxy-from-anycast':
    'the reverse proxy connects from the anycast gateway address: the guest answers its own node, which owns that address too and resets the connection',
  'ctsync-bridge-netfilter':
    "br_netfilter stays on: the guest's node tracks the bridged copy of every forwarded flow, and the replicated entry clashes with it and is inserted with another reply port",
  'anycast-arp-leak':
    'ARP for the anycast gateway is not held back on the pipes: a guest can learn another node as its gateway',
  'no-antispoof':
    "the guest ports' prerouting hook is left out: a guest's frames from another MAC or address, and its ARP for another's address, leave its port",
  'private-forward-only':
    "private networks are filtered in the bridge's forward hook only, not in output: the node's own multicast and broadcast reach every private network's guests",
  'no-tap-proxy-arp':
    "nic up leaves proxy_arp off on a routed guest's tap: nothing answers the guest's ARP for its gateway, and it reaches nobody",
  'no-arp-source':
    "the ARP requests the nodes send keep their own source address (no arp table): a node's public address lands in the guests' and the upstream router's neighbour tables",
  'keep-proxy-ndp':
    "nic down --local-only (a migration's source node) keeps the guest's proxy-NDP entry: two nodes answer the neighbour solicitation for its IPv6 address",
  'no-garp':
    'nic up announces nothing (no gratuitous ARP, no unsolicited NA): after a migration the upstream router keeps sending to the old node, an extra hop through it',
  'no-ra':
    "the nodes serve no router advertisements (ra.py not started): guests whose IPv6 address is SLAAC's get no address and no IPv6 default route",
  'cgnat-without-zones':
    "the conntrack zone per tenant is left out, as in the demo's ruleset: identical tuples from two tenants meet in one zone, the second client's packets join the first's flow, leave with its mapping, and the replies go to the first tenant",
  'mark-everything':
    "steering by a mark on every packet not from the appliance's transit bridge and ip rule fwmark (seed 004's strategy 1), without the rules that exclude the router's other networks: the appliance's management address, reached through its floating IP, is steered into the appliance's transit port, which refuses it (the seed's unreachable firewall panel)",
  'no-notrack':
    "steering by interface rules without the NOTRACK pair (seed 004's update 1): an outbound flow is tracked on its first pass (guest -> appliance) with a null NAT binding and leaves un-SNATed; inbound flows work",
  'notrack-one-side':
    "NOTRACK on the guests' side only (seed 004's update 2): a TCP or UDP flow's second pass clashes with the first's conntrack entry and is remapped to another port (the seed's other ICMP id), which the appliance cannot match: both directions fail",
  'transit-spoof':
    "the appliance's transit port keeps anti-spoofing (F38 undone): the packets it forwards carry others' addresses and are dropped at its port, so nothing passes the inserted appliance",
} as const;

export type Fault = keyof typeof FAULTS;

export function isFault(name: string): name is Fault {
  return Object.hasOwn(FAULTS, name);
}

/** What a spec needs for each fault to change anything, in the spec's words (each system has the test). */
const NEEDS: Record<Fault, string> = {
  'stateless-after-conntrack': 'a forward with strategy stateless',
  'stateless-reply-port-kept': 'a forward with strategy stateless whose toPort differs from its port',
  'fullnat-without-snat': 'a forward with strategy fullnat',
  'proxy-from-anycast': 'a reverse proxy (proxies:)',
  'ctsync-bridge-netfilter': 'a forward with strategy ctsync',
  'anycast-arp-leak': 'a guest network with pipes between nodes',
  'no-antispoof': 'a guest NIC with a mac and spoof: drop on a bridged or private network',
  'private-forward-only': 'a private network with a macPrefix and a guest NIC on it',
  'no-tap-proxy-arp': 'a guest NIC on a routed network',
  'no-arp-source': 'a routed network',
  'keep-proxy-ndp': 'a guest NIC with an IPv6 address on a routed network',
  'no-garp': 'a guest NIC on a routed network',
  'no-ra': 'a routed network with subnet6 and a guest NIC on it',
  'cgnat-without-zones': 'a CGNAT spec (kind: cgnat) with two tenants or more',
  'mark-everything': 'a gateway network with a router inserting an appliance (insert:)',
  'no-notrack': 'a gateway network with a router inserting an appliance (insert:)',
  'notrack-one-side': 'a gateway network with a router inserting an appliance (insert:)',
  'transit-spoof': 'an appliance NIC with a mac on a transit network (transit: true)',
};

/** The faults a system's tests say change something in its spec, in the order of FAULTS. */
export function faultsWhere<Spec>(
  tests: { readonly [F in Fault]?: (spec: Spec) => boolean },
  spec: Spec,
): Fault[] {
  return (Object.keys(FAULTS) as Fault[]).filter((f) => tests[f]?.(spec) === true);
}

/** A spec and the system that read it (systems/registry.ts). */
interface Read {
  readonly system: { faults(spec: unknown): Fault[] };
  readonly spec: unknown;
}

/** The faults that change something in this spec. */
export function faultsFor(read: Read): Fault[] {
  return read.system.faults(read.spec);
}

/** Why a fault does nothing to this spec, or undefined when it applies. */
export function whyNot(fault: Fault, read: Read): string | undefined {
  return faultsFor(read).includes(fault) ? undefined : `it needs ${NEEDS[fault]}`;
}
