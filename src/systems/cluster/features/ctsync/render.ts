// conntrackd plan -> conntrackd.conf (conntrackd 1.4.7, Debian 12), for the Debian service
// (`systemctl start conntrackd`, config in /etc/conntrackd/conntrackd.conf). Paths are Debian's.
import { FILES, type RenderedFile } from '../../../../host/files.ts';
import type { HostPlan } from '../../../../host/plan.ts';

/** conntrackd.conf, on a node that runs conntrackd. */
export function ctsyncFiles(plan: HostPlan, who: string): RenderedFile[] {
  if (!plan.conntrackd) return [];
  const header = [
    who,
    'conntrack state replication (strategy ctsync): /etc/conntrackd/conntrackd.conf, then start conntrackd',
    'Load nftables.conf first: it keeps the sync traffic out of conntrack and away from the guests.',
  ];
  return [{ path: FILES.conntrackd, chunks: [renderConntrackd(plan, header)] }];
}

/** Where the rendered file keeps conntrackd's runtime files; the lab gives each node its own. */
export const CONNTRACKD_PATHS = {
  lock: '/var/lock/conntrackd.lock',
  socket: '/var/run/conntrackd.ctl',
  log: '/var/log/conntrackd.log',
} as const;

export function renderConntrackd(plan: HostPlan, header: readonly string[]): string {
  const c = plan.conntrackd;
  if (!c) throw new Error(`render: node ${plan.node} runs no conntrackd`);
  const lines = [
    ...header.map((h) => `# ${h}`),
    `# ${c.source}: this node ${c.address}, peers ${c.peers.join(', ') || '(none)'}`,
    '',
    'Sync {',
    ...(c.mode === 'ftfw'
      ? [
          '\t# FTFW: sequence numbers, acknowledgements and resends, so a lost datagram is sent again.',
          '\t# Two nodes only: a receiver keeps one sequence number for all senders.',
          '\tMode FTFW {',
        ]
      : [
          '\t# NOTRACK: best effort, for more than two nodes (FTFW keeps one sequence number per',
          '\t# receiver and would drop all senders but one). Every update of a flow is sent again.',
          '\tMode NOTRACK {',
          '\t\tDisableInternalCache on',
        ]),
    '\t\t# Active-active: every replicated flow goes straight into the kernel table, where the',
    "\t\t# guest's node needs it for the reply; nothing waits for a failover to commit it.",
    '\t\tDisableExternalCache on',
    '\t\t# A node that (re)starts asks the others for every flow they hold.',
    '\t\tStartupResync on',
    '\t}',
    '\t# Multicast: one datagram reaches every node, however many there are.',
    '\tMulticast {',
    `\t\tIPv4_address ${c.group}`,
    `\t\tGroup ${c.port}`,
    `\t\tIPv4_interface ${c.address}`,
    `\t\tInterface ${c.interface}`,
    '\t\tSndSocketBuffer 1249280',
    '\t\tRcvSocketBuffer 1249280',
    '\t\tChecksum on',
    '\t}',
    '}',
    '',
    'General {',
    '\tSystemd on',
    '\tHashSize 32768',
    '\tHashLimit 131072',
    `\tLockFile ${CONNTRACKD_PATHS.lock}`,
    `\tLogFile ${CONNTRACKD_PATHS.log}`,
    '\tSyslog off',
    '\tUNIX {',
    `\t\tPath ${CONNTRACKD_PATHS.socket}`,
    '\t}',
    '\tNetlinkBufferSize 2097152',
    '\tNetlinkBufferSizeMaxGrowth 8388608',
    '\tFilter From Kernelspace {',
    '\t\tProtocol Accept {',
    '\t\t\tTCP',
    '\t\t\tUDP',
    '\t\t}',
    '\t\t# A TCP flow from ESTABLISHED on: a reply before that goes back to the entering node, which',
    "\t\t# sees the whole handshake (ctsync-bounce): 4 of a short connection's 8 TCP states are sent.",
    '\t\tState Accept {',
    '\t\t\tESTABLISHED CLOSED TIME_WAIT CLOSE_WAIT for TCP',
    '\t\t}',
    "\t\t# Never the nodes' public addresses: a forwarded flow's original destination is one of them.",
    '\t\tAddress Ignore {',
    '\t\t\tIPv4_address 127.0.0.1',
    '\t\t}',
    '\t}',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
