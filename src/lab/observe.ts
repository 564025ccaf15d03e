// The upstream router watches its uplink bridge: for every flow to or from the workstation it
// records which node (by its uplink MAC) the packets went to or came from. That is how a check learns, from the
// wire, which node a request entered the cluster through and which node traffic left it through.
// The table lives in the upstream namespace (the lab's own), never on a node. A TCP handshake's reply
// (SYN-ACK) is kept apart: under CT-SYNC one that outruns the sync leaves through the entering node,
// by design, while the flow's replies leave through the guest's node.
import type { Runner } from './run.ts';
import { setKeys } from './set-keys.ts';

export const OBSERVER_TABLE = 'lab-observer';

/** nft input for the upstream: two dynamic sets keyed by proto . sport . dport . node MAC. */
export function observerRuleset(workstation: string): string {
  // Keyed by the node's MAC rather than the bridge port: a frame the bridge floods (its forwarding
  // entry expired) leaves through every port, but is addressed to one node.
  const set = (name: string) => `	set ${name} {
		type inet_proto . inet_service . inet_service . ether_addr
		flags dynamic,timeout
		timeout 30m
		size 262144
	}`;
  return `table bridge ${OBSERVER_TABLE} {
	comment "convergent lab: which node each workstation flow entered and left the cluster through"
${set('toward_workstation')}
${set('handshake_toward_workstation')}
${set('from_workstation')}
	chain from-nodes {
		type filter hook prerouting priority 0; policy accept;
		ip daddr ${workstation} tcp flags & (syn | ack) == syn | ack update @handshake_toward_workstation { meta l4proto . th sport . th dport . ether saddr } accept
		ip daddr ${workstation} meta l4proto { tcp, udp } update @toward_workstation { meta l4proto . th sport . th dport . ether saddr }
	}
	chain to-nodes {
		type filter hook output priority 0; policy accept;
		ip saddr ${workstation} meta l4proto { tcp, udp } update @from_workstation { meta l4proto . th sport . th dport . ether daddr }
	}
}
`;
}

/** Forgets what earlier runs saw, so a run is judged on its own packets only. */
export function clearObservations(runner: Runner, upstreamNs: string): void {
  for (const set of ['toward_workstation', 'handshake_toward_workstation', 'from_workstation'])
    runner(['ip', 'netns', 'exec', upstreamNs, 'nft', 'flush', 'set', 'bridge', OBSERVER_TABLE, set]);
}

export interface Seen {
  readonly proto: string;
  readonly sport: number;
  readonly dport: number;
  /** The node's uplink MAC: which node sent or received it. */
  readonly mac: string;
}

export interface Observations {
  readonly towardWorkstation: readonly Seen[];
  /** SYN-ACKs toward the workstation: the handshake's reply. */
  readonly handshakeTowardWorkstation: readonly Seen[];
  readonly fromWorkstation: readonly Seen[];
}

export function readObservations(runner: Runner, upstreamNs: string): Observations {
  const read = (set: string): Seen[] =>
    setKeys(runner, upstreamNs, 'bridge', OBSERVER_TABLE, set).map((key) => {
      const [proto, sport, dport, mac] = key as [string, number, number, string];
      return { proto, sport, dport, mac };
    });
  return {
    towardWorkstation: read('toward_workstation'),
    handshakeTowardWorkstation: read('handshake_toward_workstation'),
    fromWorkstation: read('from_workstation'),
  };
}

export interface Flow {
  readonly proto: 'tcp' | 'udp';
  readonly clientPort: number;
  /** The port the client dialled, as the workstation side sees it. */
  readonly serverPort: number;
  readonly clientIsWorkstation: boolean;
}

/** Where a flow entered and left; `handshake`: where its SYN-ACK left, when not where the rest did. */
export interface FlowNodes {
  readonly enters?: string;
  readonly leaves?: string;
  readonly handshake?: string;
}

/**
 * The nodes a flow used: entering from and leaving toward the workstation, "node1+node2" when it
 * was seen at more than one. A guest's client port is the one SNAT kept (it keeps it unless taken).
 * The replies are judged without the SYN-ACK, unless nothing else came back.
 */
export function flowNodes(seen: Observations, flow: Flow, nodeOfMac: ReadonlyMap<string, string>): FlowNodes {
  const { proto, clientPort: c, serverPort: s, clientIsWorkstation: ws } = flow;
  // Matched on both ports; failing that on the client's port alone, so that a reply from the
  // wrong port (a broken rewrite) is still placed on the node it left through.
  const nodes = (list: readonly Seen[], sport: number | undefined, dport: number | undefined) => {
    const ours = list.filter((x) => x.proto === proto);
    let hits = ours.filter((x) => x.sport === (sport ?? x.sport) && x.dport === (dport ?? x.dport));
    if (hits.length === 0 && sport !== undefined && dport !== undefined)
      hits = ours.filter((x) => (sport === c ? x.sport === c : x.dport === c));
    const names = new Set(hits.map((x) => nodeOfMac.get(x.mac) ?? x.mac));
    return names.size === 0 ? undefined : [...names].sort().join('+');
  };
  const [up, down] = ws ? [c, s] : [s, c];
  const enters = nodes(seen.fromWorkstation, up, down);
  const replies = nodes(seen.towardWorkstation, down, up);
  const handshake = nodes(seen.handshakeTowardWorkstation, down, up);
  return {
    enters,
    leaves: replies ?? handshake,
    ...(handshake !== undefined && replies !== undefined && handshake !== replies ? { handshake } : {}),
  };
}
