// `nic up` (F21): what a hypervisor's hook runs when it plugs a guest's tap. Checks everything first
// (the guest, its node, the tap, the bridge; the loaded table by the first transaction, which nft
// refuses whole) and changes nothing when one fails; then clears what the node holds for that tap by
// name (as gnt-networking's kvm-ifup-custom does: the stale state may be another guest's), and plugs:
// one nft transaction of elements (never a rule, never a reload) and one ip command for the tap's
// MTU, bridge, record and state. Twice leaves what once did. It costs the same on a node with 10,000
// guests as with 10: nothing is read from the sets unless the tap's own record fails it. A NIC on a
// routed network has no bridge: routed-up.ts plugs it, after the same checks of guest, node and tap.

import type { Fault } from '../../faults.ts';
import { portsInUse } from '../features/ports/compile.ts';
import { type PortGuard, portGuard } from '../features/ports/elements.ts';
import { PORTS_TABLE } from '../features/ports/names.ts';
import type { RoutedGuard } from '../features/routed/elements.ts';
import { fromPort } from './elements.ts';
import { type BridgedPlug, checkNotNodeLink, checkTap, findNode, findPlug, type Plug } from './find.ts';
import { applyChanges } from './kernel.ts';
import { plugElements } from './plug.ts';
import { readRecord, recordOf } from './record.ts';
import { type Exec, NicRefused } from './refused.ts';
import { plugRouted } from './routed-up.ts';
import { unplugChanges } from './routes.ts';
import { type Link, linksOf, setLink } from './state.ts';
import type { NicTable } from './table.ts';

/** What the lab passes: the faults it was asked for (the CLI passes none). */
export interface UpOptions {
  readonly faults?: readonly Fault[];
}

export interface Plugged {
  readonly plug: Plug;
  readonly tap: string;
  readonly mtu: number;
  readonly guard: PortGuard | RoutedGuard;
  /** Elements a stale plug of the tap had left, removed in the same transaction. */
  readonly cleared: number;
  /** The line the command prints. */
  readonly line: string;
  /** A routed plug whose announcement failed: what to print on stderr (the plug stands). */
  readonly warning?: string;
}

export function nicUp(
  exec: Exec,
  cluster: NicTable,
  nodeName: string,
  ref: string,
  tap: string,
  options: UpOptions = {},
): Plugged {
  checkTap(tap);
  const node = findNode(cluster, nodeName);
  const plug = findPlug(cluster, node, ref);
  // The tap and what it goes into (the bridge, or the routed network's uplink device), read at once.
  const into = plug.kind === 'routed' ? plug.network.uplink.device : plug.bridge;
  const links = linksOf(exec, [tap, into]);
  const tapLink = links.get(tap);
  if (!tapLink)
    throw new NicRefused(
      `no interface ${tap} on this node`,
      'run the hook after the hypervisor created the tap (Ganeti, Xen and libvirt pass it as the first argument)',
    );
  checkNotNodeLink(cluster, node, tap, tapLink.master);
  const intoLink = links.get(into);
  if (plug.kind === 'routed') return plugRouted(exec, plug, tap, tapLink, intoLink, options.faults ?? []);
  return plugBridged(
    exec,
    cluster,
    transitSpoof(cluster, plug, options.faults ?? []),
    tap,
    tapLink,
    intoLink,
  );
}

/** The lab's transit-spoof fault: an appliance's transit NIC plugged with anti-spoofing (F38 undone). */
function transitSpoof(cluster: NicTable, plug: BridgedPlug, faults: readonly Fault[]): BridgedPlug {
  if (!faults.includes('transit-spoof')) return plug;
  const transit = cluster.networks.some((n) => n.name === plug.nic.network && n.transit === true);
  return transit ? { ...plug, nic: { ...plug.nic, spoof: 'drop' } } : plug;
}

function plugBridged(
  exec: Exec,
  cluster: NicTable,
  plug: BridgedPlug,
  tap: string,
  tapLink: Link,
  bridge: Link | undefined,
): Plugged {
  if (!bridge)
    throw new NicRefused(
      `no bridge ${plug.bridge} on this node for ${plug.ref}'s network ${plug.nic.network}`,
      "apply the node's network.sh first (it creates the bridges)",
    );
  const guard = portGuard(plug.nic, plug.network, tap);
  const record = { elements: guard.elements.map(fromPort) };
  const cleared = plugElements(exec, record, tap, tapLink.ifalias)?.cleared;
  // The tap's name was a routed NIC's before, still plugged: its routes and proxy-NDP entry go too.
  const routed = cleared === undefined ? undefined : readRecord(tapLink.ifalias, tap)?.routes;
  if (routed) applyChanges(exec, unplugChanges(routed, tap, undefined));
  if (cleared === undefined && portsInUse(cluster))
    throw new NicRefused(
      `table bridge ${PORTS_TABLE} is not loaded on this node (or is older than this spec)`,
      "load the node's rules first: nft -f nftables.conf (the hook adds elements to its sets, never rules)",
    );
  // In another bridge (a stale plug, a network changed): out of it first. In the right one: left
  // there, so a hook run again on a running guest does not bounce its port.
  if (tapLink.master !== undefined && tapLink.master !== plug.bridge) setLink(exec, tap, 'nomaster');
  const mtu = plug.mtu ?? bridge.mtu;
  // The record of this plug (none when it does not fit an alias: the next hook reads the sets).
  setLink(exec, tap, 'mtu', String(mtu), 'master', plug.bridge, 'alias', recordOf(record) ?? '', 'up');
  return { plug, tap, mtu, guard, cleared: cleared ?? 0, line: describe(plug, tap, mtu, guard) };
}

/** "nic vm1:0 on tap5: bridge vlan104 mtu 9000, anti-spoofing 52:54:00:00:01:04 62.217.124.10, profile protected" */
function describe(plug: BridgedPlug, tap: string, mtu: number, guard: PortGuard): string {
  const why = plug.nic.mac === undefined ? 'no mac in the spec' : 'spoof: allow';
  const parts = [
    `bridge ${plug.bridge} mtu ${mtu}`,
    guard.antispoof !== undefined ? `anti-spoofing ${guard.antispoof}` : `no anti-spoofing (${why})`,
    ...(guard.private !== undefined ? [`private ${guard.private}`] : []),
    `profile ${guard.profile ?? 'unprotected'}`,
  ];
  return `nic ${plug.ref} on ${tap}: ${parts.join(', ')}`;
}
