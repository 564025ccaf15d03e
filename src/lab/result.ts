// What a run of checks gives, whatever the system: one result per check, with its evidence when it
// failed, and the report the CLI prints (lab/report.ts) or writes as JSON.
import type { Outcome } from './outcome.ts';

export interface NodeEvidence {
  readonly node: string;
  /** conntrack -L lines of the flow. */
  readonly conntrack: readonly string[];
  /** Rules whose counters moved during the re-run: "chain: comment (+N packets)". */
  readonly counters: readonly string[];
}

export interface Evidence {
  readonly clientPort: number;
  readonly outcome: Outcome;
  /** Set when the check was not run again: what the evidence is instead (the CGNAT lab's). */
  readonly note?: string;
  /** Packets of the flow on every captured host, in time order: "+0.000412 node2 eth0 In ...". */
  readonly wire: readonly string[];
  readonly nodes: readonly NodeEvidence[];
}

export interface CheckResult {
  readonly name: string;
  /** Where the check comes from in the spec: "checks[2]", or the forward or guest it was derived from. */
  readonly source: string;
  readonly proto: string;
  readonly from: string;
  readonly to: string;
  readonly port?: number;
  readonly passed: boolean;
  readonly problems: readonly string[];
  readonly answered?: string;
  readonly saw?: string;
  readonly replyFrom?: string;
  /** The client's wait for the answer (ms), and for udp the datagrams it sent. */
  readonly ms?: number;
  readonly tries?: number;
  /** The client sent and nothing came back: what a blocked check passes on. */
  readonly silent?: boolean;
  /** What the check measured besides its answer (a bond failover's time and lost probes). */
  /** The nodes whose forwarding counter grew while the check ran (a routed network's via). */
  readonly forwarded?: readonly string[];
  readonly figures?: Readonly<Record<string, string | number>>;
  /** Why the client got no answer (for a blocked check that passed, what it met: "Frag needed"). */
  readonly error?: string;
  /** The node the workstation's packets entered the cluster through (seen on the uplink). */
  readonly enters?: string;
  /** The node packets toward the workstation left the cluster through (the SYN-ACK aside). */
  readonly leaves?: string;
  /** Where the TCP handshake's reply (SYN-ACK) left, when elsewhere: CT-SYNC's entering node. */
  readonly handshake?: string;
  /** Replies of the flow were sent back to the entering node by design (CT-SYNC: they outran the sync). */
  readonly outran?: boolean;
  readonly clientPort: number;
  readonly evidence?: Evidence;
}

/** One node's state-sync daemon (a cluster's conntrackd), as it reports itself after the checks. */
export interface SyncStat {
  readonly node: string;
  /** Sync messages on the wire (multicast), each way. */
  readonly sent: number;
  readonly received: number;
  /** Flows from other nodes written into this node's kernel table, and the writes that failed. */
  readonly injected: number;
  readonly injectFailed: number;
  /** Messages the sequence numbers say were lost: FTFW only (NOTRACK's counter counts other senders). */
  readonly lost?: number;
}

/** What a system's features add to a report after the checks (each key is one feature's). */
export interface ReportParts {
  /** The nodes' state sync after the checks: the sync is real and moving. */
  readonly sync?: readonly SyncStat[];
}

export interface LabReport extends ReportParts {
  readonly lab: string;
  readonly cluster: string;
  readonly faults: readonly string[];
  readonly derived: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly CheckResult[];
  /** The checks run again after cutting a node off (`lab test --cut`). */
  readonly afterCut?: {
    readonly node: string;
    readonly report: LabReport;
    /** TCP connections opened before the cut, through other nodes: did each still answer after it? */
    readonly established: readonly {
      readonly name: string;
      readonly survived: boolean;
      readonly error?: string;
    }[];
  };
}
