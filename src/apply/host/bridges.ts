// Bridges: the live bridge compared with the plan's as network.sh sets it: options (read from
// `ip -d -j link`, the forward delay in hundredths of a second there too), alias, ports, MAC, MTU,
// up. Ports are set after the options and the MAC and MTU after the ports, as network.sh does (a
// bridge follows its smallest port's MTU until one is set).
import type { BridgePlan } from '../../host/plan.ts';
import type { Change, Command } from '../change.ts';
import { change, ip } from './commands.ts';
import { aliasCommand, aliasMtuUp, Edits, isOwned, isUp, kindOf, type LinkScope } from './links.ts';
import type { LiveLink } from './read.ts';

/** The options network.sh sets on every bridge, with their values for this one. */
function options(bridge: BridgePlan): [string, number][] {
  const out: [string, number][] = [['stp_state', bridge.stp ? 1 : 0]];
  if (bridge.forwardDelay !== undefined) out.push(['forward_delay', bridge.forwardDelay * 100]);
  out.push(['nf_call_iptables', bridge.callIptables ? 1 : 0]);
  out.push(['mcast_snooping', bridge.multicastSnooping === false ? 0 : 1]);
  return out;
}

const setOptions = (bridge: BridgePlan): Command =>
  ip(
    'link',
    'set',
    'dev',
    bridge.name,
    'type',
    'bridge',
    ...options(bridge).flatMap(([k, v]) => [k, String(v)]),
  );

const join = (port: string, bridge: string) => ip('link', 'set', 'dev', port, 'master', bridge, 'up');

export function bridgeChanges(bridges: readonly BridgePlan[], scope: LinkScope): Change[] {
  return bridges.flatMap((b) => {
    const l = scope.live.get(b.name);
    if (l === undefined) return addBridge(b, scope);
    if (kindOf(l) !== 'bridge') {
      scope.refusals.add(
        `bridge ${b.name} (${b.source})`,
        `${b.name} exists but is no bridge (${kindOf(l) ?? 'a NIC'})`,
        `rename or delete it (ip link del ${b.name}), then apply again`,
      );
      return [];
    }
    return changeBridge(b, l, scope);
  });
}

function missingPorts(b: BridgePlan, scope: LinkScope): boolean {
  const missing = b.ports.filter((p) => !scope.live.has(p) && !scope.desired.has(p));
  if (missing.length > 0)
    scope.refusals.add(
      `bridge ${b.name} (${b.source})`,
      `its port${missing.length === 1 ? '' : 's'} ${missing.join(' ')} ${missing.length === 1 ? 'is' : 'are'} not on this host`,
      'make them first (a cluster pipe, a NIC), then apply again',
    );
  return missing.length > 0;
}

const macMtu = (b: BridgePlan) => [
  ...(b.mac ? ['address', b.mac] : []),
  ...(b.mtu === undefined ? [] : ['mtu', String(b.mtu)]),
];

function addBridge(b: BridgePlan, scope: LinkScope): Change[] {
  if (missingPorts(b, scope)) return [];
  const mm = macMtu(b);
  const commands = [
    ip('link', 'add', b.name, 'type', 'bridge'),
    setOptions(b),
    aliasCommand(b),
    ...b.ports.map((p) => join(p, b.name)),
    ...(mm.length > 0 ? [ip('link', 'set', 'dev', b.name, ...mm)] : []),
    ip('link', 'set', 'dev', b.name, 'up'),
  ];
  const detail = b.ports.length > 0 ? `ports ${b.ports.join(' ')}` : 'no ports';
  return [change('links', 'add', `bridge ${b.name}`, commands, { detail, source: b.source })];
}

function changeBridge(b: BridgePlan, l: LiveLink, scope: LinkScope): Change[] {
  if (missingPorts(b, scope)) return [];
  const edits = new Edits();
  const live = l.linkinfo?.info_data ?? {};
  const differ = options(b).filter(([k, v]) => live[k] !== v);
  if (differ.length > 0)
    edits.add(differ.map(([k, v]) => `${k} ${String(live[k])} -> ${v}`).join(', '), setOptions(b));
  for (const p of b.ports) {
    const port = scope.live.get(p);
    if (port === undefined || port.master !== b.name || !isUp(port))
      edits.add(`+ port ${p}`, join(p, b.name));
  }
  // A port of convergent's that the plan took off the bridge; any other port is someone's guest.
  for (const port of scope.live.values())
    if (
      port.master === b.name &&
      !b.ports.includes(port.ifname) &&
      (scope.desired.has(port.ifname) || isOwned(port))
    )
      edits.add(`- port ${port.ifname}`, ip('link', 'set', 'dev', port.ifname, 'nomaster'));
  if (b.mac && l.address?.toLowerCase() !== b.mac.toLowerCase())
    edits.add(
      `address ${l.address ?? '(none)'} -> ${b.mac}`,
      ip('link', 'set', 'dev', b.name, 'address', b.mac),
    );
  aliasMtuUp(edits, l, b, true);
  return edits.change(`bridge ${b.name}`, b.source);
}
