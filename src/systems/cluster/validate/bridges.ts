// The bridges of the networks the nodes only bridge, against each other and everything else on a
// node: a bridge of its own (only private networks by MAC prefix share one, and then agree on what
// carries it), never the uplink bridge nor an interface's name, and MAC prefixes of their own.
import type { SpecPath } from '../../../input/problem.ts';
import type { BridgedNetwork } from '../model.ts';
import type { ClusterSpec } from '../schema.ts';
import type { Report } from './common.ts';

export function checkBridges(spec: ClusterSpec, bridged: readonly BridgedNetwork[], report: Report): void {
  const gatewayBridges = new Map<string, string>();
  for (const [name, net] of Object.entries(spec.networks))
    if (net.mode === 'gateway' && !gatewayBridges.has(net.bridge ?? 'guestbr0'))
      gatewayBridges.set(net.bridge ?? 'guestbr0', name);
  const groups = new Map<string, BridgedNetwork[]>();
  for (const net of bridged) groups.set(net.bridge, [...(groups.get(net.bridge) ?? []), net]);
  const links = linkNames(spec);
  for (const net of bridged) {
    const at: SpecPath =
      spec.networks[net.name]?.bridge === undefined
        ? ['networks', net.name]
        : ['networks', net.name, 'bridge'];
    const fix = `name a bridge of its own: bridge: ${freeBridge(net, groups, gatewayBridges)}`;
    const gateway = gatewayBridges.get(net.bridge);
    if (gateway !== undefined)
      report(at, `bridge ${net.bridge} is already the bridge of gateway network ${gateway}`, fix);
    else shareBridge(spec, net, groups.get(net.bridge) ?? [], at, fix, report);
    if (isUplinkBridge(spec, net.bridge))
      report(at, `bridge ${net.bridge} is the uplink bridge, which holds the nodes' own addresses`, fix);
    else if (links.has(net.bridge))
      report(
        at,
        `${net.bridge} is already an interface of the nodes (${links.get(net.bridge)}), not a bridge`,
        fix,
      );
  }
  checkMacPrefixes(spec, report);
}

/**
 * Networks on one bridge: only private networks by MAC prefix may share one, and they agree on what
 * carries it. Of a group that may not share, each network but the one the bridge is meant for
 * (the first sharer, else the first) is told.
 */
function shareBridge(
  spec: ClusterSpec,
  net: BridgedNetwork,
  group: readonly BridgedNetwork[],
  at: SpecPath,
  fix: string,
  report: Report,
): void {
  const owner = group.find(sharesByPrefix) ?? group[0];
  // A private network with neither prefix nor pool is told so (bridged.ts), not about its bridge.
  if (!owner || owner === net || (net.mode === 'private' && !net.macPrefix && !net.pool)) return;
  // A pool the spec lacks, or a slot pinned twice: bridged.ts and pools.ts say so.
  const pool = spec.networks[net.name]?.pool;
  if (pool !== undefined && (!(pool in spec.vlanPools) || pool === owner.pool?.name)) return;
  // Without a trunk on several nodes, bridged.ts says what is missing.
  if (!net.uplink && Object.keys(spec.nodes).length > 1) return;
  if (sharesByPrefix(net) && sharesByPrefix(owner)) agree(net, owner, at, report);
  else if (sameVlan(net, owner))
    report(
      ['networks', net.name, spec.networks[net.name]?.vlan === undefined ? 'trunk' : 'vlan'],
      `network ${net.name} is carried on ${net.uplink?.device}, as network ${owner.name} is: one VLAN on one trunk is one network`,
      `give network ${net.name} a VLAN of its own on ${net.uplink?.trunk}`,
    );
  else
    report(
      at,
      `bridge ${net.bridge} is already the bridge of network ${owner.name}; only private networks by MAC prefix share one`,
      fix,
    );
}

const sameVlan = (a: BridgedNetwork, b: BridgedNetwork) =>
  a.uplink !== undefined && a.uplink.device === b.uplink?.device;

const sharesByPrefix = (net: BridgedNetwork) => net.mode === 'private' && net.macPrefix !== undefined;

/** Private networks on one bridge: one trunk, one VLAN, one MTU (the bridge has one of each). */
function agree(net: BridgedNetwork, other: BridgedNetwork, at: SpecPath, report: Report): void {
  const carried = (n: BridgedNetwork) =>
    `${n.uplink ? `trunk ${n.uplink.trunk}${n.uplink.vlan === undefined ? ' untagged' : `, VLAN ${n.uplink.vlan}`}` : 'no trunk'}${n.mtu === undefined ? '' : `, MTU ${n.mtu}`}`;
  if (carried(net) === carried(other)) return;
  report(
    at,
    `private networks ${other.name} and ${net.name} share bridge ${net.bridge}, which has one trunk, VLAN and MTU: ${other.name} has ${carried(other)}, ${net.name} ${carried(net)}`,
    `write the trunk, vlan and mtu of network ${other.name}, or give network ${net.name} a bridge of its own (bridge: prv1)`,
  );
}

function isUplinkBridge(spec: ClusterSpec, bridge: string): boolean {
  return bridge === spec.uplink.bridge || Object.values(spec.nodes).some((n) => n.uplink?.bridge === bridge);
}

/** Declared interfaces and uplink ports, by name: what a bridge cannot be called. */
function linkNames(spec: ClusterSpec): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of Object.keys(spec.interfaces)) names.set(name, 'under interfaces:');
  for (const [node, n] of Object.entries(spec.nodes)) {
    for (const name of Object.keys(n.interfaces ?? {})) names.set(name, `under node ${node}'s interfaces:`);
    for (const port of n.uplink?.ports ?? []) names.set(port, `an uplink port of node ${node}`);
  }
  for (const port of spec.uplink.ports) names.set(port, 'an uplink port');
  return names;
}

function freeBridge(
  net: BridgedNetwork,
  taken: ReadonlyMap<string, unknown>,
  gateway: ReadonlyMap<string, unknown>,
): string {
  const stem = net.mode === 'private' ? 'prv' : 'vlan';
  let i = net.uplink?.vlan ?? 1;
  while (taken.has(`${stem}${i}`) || gateway.has(`${stem}${i}`) || `${stem}${i}` === net.bridge) i++;
  return `${stem}${i}`;
}

/** The networks whose MAC prefix stands (their own, outside the tag prefix): the NICs are checked against these. */
export function standingPrefixes(spec: ClusterSpec): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [name, net] of Object.entries(spec.networks))
    if (net.mode === 'private' && net.macPrefix !== undefined && !owners.has(net.macPrefix))
      owners.set(net.macPrefix, name);
  for (const prefix of owners.keys()) if (prefix.startsWith(`${spec.tagMacPrefix}:`)) owners.delete(prefix);
  return new Map([...owners].map(([prefix, name]) => [name, prefix]));
}

/** A MAC prefix per private network, outside the nodes' tag prefix. */
function checkMacPrefixes(spec: ClusterSpec, report: Report): void {
  const prefixes = new Map<string, string>();
  for (const [name, net] of Object.entries(spec.networks)) {
    const prefix = net.macPrefix;
    if (prefix === undefined || net.mode !== 'private') continue;
    const path = ['networks', name, 'macPrefix'];
    const other = prefixes.get(prefix);
    if (other !== undefined)
      report(
        path,
        `macPrefix ${prefix} is already network ${other}'s: their guests would hear each other`,
        `write macPrefix: "${freeMacPrefix(spec, prefix)}"`,
      );
    else prefixes.set(prefix, name);
    if (prefix.startsWith(`${spec.tagMacPrefix}:`))
      report(
        path,
        `macPrefix ${prefix} starts with ${spec.tagMacPrefix}:, the prefix of the nodes' guest-bridge MACs`,
        `choose another first octet, e.g. macPrefix: "${freeMacPrefix(spec)}"`,
      );
  }
}

/** A MAC prefix no network has, the first after `from`: aa:00:10 -> aa:00:20 -> … -> aa:01:00. */
export function freeMacPrefix(spec: ClusterSpec, from = 'aa:00:10'): string {
  const taken = new Set(Object.values(spec.networks).map((n) => n.macPrefix));
  const first = from.slice(0, 2);
  let n = Number.parseInt(from.slice(3, 5) + from.slice(6, 7), 16);
  let candidate = from;
  while (taken.has(candidate)) {
    n = (n + 1) % 0x1000;
    const h = n.toString(16).padStart(3, '0');
    candidate = `${first}:${h.slice(0, 2)}:${h.slice(2)}0`;
  }
  return candidate;
}

/** A VLAN no network or pool has on `trunk`, from `from` on. */
export function freeVlan(spec: ClusterSpec, trunk: string, from = 100): number {
  const taken = (vlan: number) =>
    Object.values(spec.networks).some((n) => n.trunk === trunk && n.vlan === vlan) ||
    Object.values(spec.vlanPools).some((p) => p.trunk === trunk && vlan > p.base && vlan <= p.base + p.size);
  let vlan = from;
  while (taken(vlan) && vlan < 4094) vlan++;
  return vlan;
}
