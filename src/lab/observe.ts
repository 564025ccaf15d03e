// The upstream router watches its uplink bridge: for every flow to or from the workstation it
// records which node port the packets went to or came from. That is how a check learns, from the
// wire, which node a request entered the cluster through and which node traffic left it through.
// The table lives in the upstream namespace (the lab's own), never on a node.
import type { Runner } from './run.ts';

export const OBSERVER_TABLE = 'lab-observer';

/** nft input for the upstream: two dynamic sets keyed by proto . sport . dport . node port. */
export function observerRuleset(workstation: string): string {
  return `table bridge ${OBSERVER_TABLE} {
	comment "convergent lab: which node port each workstation flow used"
	set toward_workstation {
		type inet_proto . inet_service . inet_service . ifname
		flags dynamic,timeout
		timeout 30m
		size 262144
	}
	set from_workstation {
		type inet_proto . inet_service . inet_service . ifname
		flags dynamic,timeout
		timeout 30m
		size 262144
	}
	chain from-nodes {
		type filter hook prerouting priority 0; policy accept;
		ip daddr ${workstation} meta l4proto { tcp, udp } update @toward_workstation { meta l4proto . th sport . th dport . iifname }
	}
	chain to-nodes {
		type filter hook output priority 0; policy accept;
		ip saddr ${workstation} meta l4proto { tcp, udp } update @from_workstation { meta l4proto . th sport . th dport . oifname }
	}
}
`;
}

export interface Seen {
  readonly proto: string;
  readonly sport: number;
  readonly dport: number;
  /** The upstream port: which node. */
  readonly port: string;
}

export interface Observations {
  readonly towardWorkstation: readonly Seen[];
  readonly fromWorkstation: readonly Seen[];
}

export function readObservations(runner: Runner, upstreamNs: string): Observations {
  const read = (set: string): Seen[] => {
    const r = runner([
      'ip',
      'netns',
      'exec',
      upstreamNs,
      'nft',
      '-j',
      'list',
      'set',
      'bridge',
      OBSERVER_TABLE,
      set,
    ]);
    if (r.code !== 0) return [];
    const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
    const elems = doc.nftables.find((o) => o.set)?.set?.elem ?? [];
    return elems.map((e) => {
      // With a timeout each element is {elem: {val: {concat: [...]}, ...}}; without, {concat: [...]}.
      const v = e as { elem?: { val: { concat: unknown[] } }; concat?: unknown[] };
      const [proto, sport, dport, port] = (v.elem?.val.concat ?? v.concat ?? []) as [
        string,
        number,
        number,
        string,
      ];
      return { proto, sport, dport, port };
    });
  };
  return { towardWorkstation: read('toward_workstation'), fromWorkstation: read('from_workstation') };
}

/** The nodes a flow with this client port used: entering from and leaving toward the workstation. */
export function flowNodes(
  seen: Observations,
  client: { readonly port: number; readonly isWorkstation: boolean },
  nodeOfPort: ReadonlyMap<string, string>,
): { enters?: string; leaves?: string } {
  // The client's port is the source in its own direction and the destination in the other.
  const ws = client.isWorkstation;
  const entering = seen.fromWorkstation.find((s) => (ws ? s.sport : s.dport) === client.port);
  const leaving = seen.towardWorkstation.find((s) => (ws ? s.dport : s.sport) === client.port);
  return {
    enters: entering && (nodeOfPort.get(entering.port) ?? entering.port),
    leaves: leaving && (nodeOfPort.get(leaving.port) ?? leaving.port),
  };
}
