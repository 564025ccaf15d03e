// A node's links as validation sees them: the cluster's interfaces with the node's own merged in,
// what each name is (a declared entry, or an undeclared NIC, or a VLAN by its PARENT.ID form), the
// MTU it ends up with, and a reporter that says a problem once however many nodes share it.
import { formatPath, type SpecPath } from '../../../input/problem.ts';
import type { ClusterSpec, InterfaceSpec } from '../schema.ts';
import type { Report } from './common.ts';

export const VLAN_NAME = /^(.+)\.(\d+)$/;

/** The MTU of a link nobody sets: Ethernet's, which the kernel gives a new NIC, bond or bridge. */
export const DEFAULT_MTU = 1500;

export interface Declared {
  readonly name: string;
  readonly spec: InterfaceSpec;
  readonly path: SpecPath;
}

/** The links of one node, or (node undefined) what the cluster gives every node. */
export interface LinkSet {
  readonly node?: string;
  readonly interfaces: ReadonlyMap<string, Declared>;
  readonly uplinkBridge: string;
  readonly uplinkPorts: readonly string[];
  readonly portsPath: SpecPath;
}

/** The cluster's set (what every node has), then each node's: the cluster's own and its interfaces merged. */
function linkSets(spec: ClusterSpec): LinkSet[] {
  const cluster = new Map<string, Declared>();
  for (const [name, i] of Object.entries(spec.interfaces))
    cluster.set(name, { name, spec: i, path: ['interfaces', name] });
  const sets: LinkSet[] = [
    {
      interfaces: cluster,
      uplinkBridge: spec.uplink.bridge,
      uplinkPorts: spec.uplink.ports,
      portsPath: ['uplink', 'ports'],
    },
  ];
  for (const [node, n] of Object.entries(spec.nodes)) {
    const merged = new Map(cluster);
    for (const [name, i] of Object.entries(n.interfaces ?? {}))
      merged.set(name, { name, spec: i, path: ['nodes', node, 'interfaces', name] });
    sets.push({
      node,
      interfaces: merged,
      uplinkBridge: n.uplink?.bridge ?? spec.uplink.bridge,
      uplinkPorts: n.uplink?.ports ?? spec.uplink.ports,
      portsPath: n.uplink ? ['nodes', node, 'uplink', 'ports'] : ['uplink', 'ports'],
    });
  }
  return sets;
}

export type LinkKind = 'nic' | 'bond' | 'vlan';

/** A declared entry is what it says; an undeclared name is the node's NIC, or a VLAN by its name. */
export function kindOf(set: LinkSet, name: string): LinkKind {
  const d = set.interfaces.get(name)?.spec;
  if (d?.bond) return 'bond';
  if (d?.vlan || VLAN_NAME.test(name)) return 'vlan';
  return 'nic';
}

/** A VLAN's parent and id: its `vlan:`, else its name PARENT.ID. */
export function vlanOf(set: LinkSet, name: string): { parent: string; id: number } | undefined {
  const d = set.interfaces.get(name)?.spec;
  if (d?.bond) return undefined;
  if (d?.vlan) return d.vlan;
  const m = VLAN_NAME.exec(name);
  return m ? { parent: m[1] as string, id: Number(m[2]) } : undefined;
}

/** Declared, or an uplink port: a link the node has (a VLAN's parent, a trunk). */
export function exists(set: LinkSet, name: string): boolean {
  return set.interfaces.has(name) || set.uplinkPorts.includes(name);
}

/** The MTU a link ends up with: its own, else a VLAN takes its parent's, else Ethernet's. */
export function mtuOf(set: LinkSet, name: string, depth = 0): number {
  const own = set.interfaces.get(name)?.spec.mtu;
  if (own !== undefined) return own;
  const vlan = vlanOf(set, name);
  if (vlan && depth < 8) return mtuOf(set, vlan.parent, depth + 1);
  return DEFAULT_MTU;
}

/**
 * The MTU the spec means a link to have: mtuOf, except that a bond that sets none has its slaves'
 * (interfaces.ts says the bond lacks it), so that one missing MTU is one problem.
 */
export function mtuMeant(set: LinkSet, name: string, depth = 0): number {
  const d = set.interfaces.get(name)?.spec;
  if (d?.mtu !== undefined) return d.mtu;
  if (d?.bond)
    return Math.max(DEFAULT_MTU, ...d.bond.slaves.map((s) => set.interfaces.get(s)?.spec.mtu ?? DEFAULT_MTU));
  const vlan = vlanOf(set, name);
  if (vlan && depth < 8) return mtuMeant(set, vlan.parent, depth + 1);
  return DEFAULT_MTU;
}

/** Where a link's MTU is written: "under interfaces:", or under the node's own when it declares it. */
export function declaredUnder(set: LinkSet, name: string): string {
  const path = set.interfaces.get(name)?.path;
  return path?.[0] === 'nodes' ? `under nodes.${String(path[1])}.interfaces:` : 'under interfaces:';
}

/** The bond a NIC is a slave of, if any. */
export function bondOf(set: LinkSet, name: string): string | undefined {
  for (const d of set.interfaces.values())
    if (d.name !== name && d.spec.bond?.slaves.includes(name)) return d.name;
  return undefined;
}

/**
 * Runs `check` on every node's links (the cluster's alone when there are no nodes) and reports each
 * problem once: as is when every node has it or it is in the node's own entries, else naming the
 * nodes that have it.
 */
export function onEveryNode(
  spec: ClusterSpec,
  report: Report,
  check: (set: LinkSet, report: Report) => void,
): void {
  const sets = linkSets(spec);
  const nodes = sets.length > 1 ? sets.slice(1) : sets;
  const found = new Map<string, { problem: Parameters<Report>; nodes: string[] }>();
  for (const set of nodes)
    check(set, (...problem) => {
      const key = `${formatPath(problem[0])}|${problem[1]}`;
      const seen = found.get(key) ?? { problem, nodes: [] };
      if (set.node !== undefined) seen.nodes.push(set.node);
      found.set(key, seen);
    });
  for (const { problem, nodes: where } of found.values()) {
    const [path, message, fix, atKey] = problem;
    // A path through the node's own entries (nodes.node2…, a pipe's node2 end) names it already.
    const own = where.length === 1 && path.includes(where[0] as string);
    const every = where.length === 0 || where.length === nodes.length;
    const on = `(on node${where.length > 1 ? 's' : ''} ${where.join(', ')})`;
    report(path, every || own ? message : `${message} ${on}`, fix, atKey);
  }
}
