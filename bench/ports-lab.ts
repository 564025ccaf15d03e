// The lab of bench/ports.bench.ts: a node namespace with the network's bridge and the node's
// rendered ruleset, and one namespace per guest of the bench (a, b, p), each joined to the node by a
// veth pair: the node's end is the guest's tap (tap-a, ...), the guest's end eth0 carries the NIC's
// MAC and address. Plugging the taps is the caller's: `nic up` for a guarded node, plain bridge
// membership for the baseline.

import { spawnSync } from 'node:child_process';
import type { NamespaceRun } from '../src/lab/netns.ts';
import { type Runner, runChecked } from '../src/lab/run.ts';
import { PORTS_TABLE } from '../src/systems/cluster/features/ports/names.ts';
import { type BenchGuest, BRIDGE, OWN, PREFIX_LENGTH } from './ports-spec.ts';

export interface PortsLab {
  readonly label: string;
  /** The node's namespace. */
  readonly node: string;
  /** A guest's namespace. */
  readonly ns: (guest: string) => string;
  readonly track: (pid: number) => () => void;
}

export const tapOf = (guest: string) => `tap-${guest}`;

/**
 * The runner of the core's Exec here: realRunner's spawnSync keeps node's default output limit of
 * 1 MiB, and `nft -j list table` of a node with 10,000 guests is larger (the bench prints its size).
 */
export const wideRunner: Runner = (argv, options = {}) => {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, {
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: options.timeoutMs ?? 60_000,
  });
  if (r.error) return { code: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
};

/** Runs argv in the namespace and returns its stdout; throws with its stderr when it fails. */
export const inNs = (ns: string, argv: readonly string[], input?: string) =>
  runChecked(wideRunner, ['ip', 'netns', 'exec', ns, ...argv], { input, timeoutMs: 120_000 });

/**
 * A connrate.py client namespace's ports, for one destination port: 64,000 client ports in
 * TIME_WAIT for 60 s would run out after a few rounds; tcp_tw_reuse lets a connect() take one over
 * after 1 s (the client closes first).
 */
export const widenClientPorts = (ns: string) =>
  inNs(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1']);

/**
 * Creates the node `<label>-node` with bridge vm0 up and the rendered ruleset loaded, and the
 * guests' namespaces `<label>-<guest>` with their veth to the node (the tap still down, in no bridge).
 */
export function buildPortsLab(
  run: NamespaceRun,
  label: string,
  ruleset: string,
  guests: readonly BenchGuest[] = OWN,
): PortsLab {
  const node = run.add(`${label}-node`);
  const ns = (guest: string) => run.ns(`${label}-${guest}`);
  const batch = [`link add ${BRIDGE} type bridge stp_state 0`, `link set ${BRIDGE} up`];
  for (const g of guests) {
    run.add(`${label}-${g.name}`);
    batch.push(`link add ${tapOf(g.name)} type veth peer name eth0 netns ${ns(g.name)}`);
  }
  inNs(node, ['ip', '-batch', '-'], `${batch.join('\n')}\n`);
  for (const g of guests)
    inNs(
      ns(g.name),
      ['ip', '-batch', '-'],
      [
        `link set eth0 address ${g.mac}`,
        `address add ${g.address}/${PREFIX_LENGTH} dev eth0`,
        'link set eth0 up',
        '',
      ].join('\n'),
    );
  inNs(node, ['nft', '-f', '-'], ruleset);
  return { label, node, ns, track: (pid) => run.track(pid) };
}

/** The baseline's plug: the tap into the bridge and up, nothing else. */
export function plainPlug(lab: PortsLab, guest: string): void {
  inNs(lab.node, ['ip', 'link', 'set', tapOf(guest), 'master', BRIDGE, 'up']);
}

/** How many rules the node's ruleset holds (every table). */
export function ruleCount(lab: PortsLab): number {
  const doc = JSON.parse(inNs(lab.node, ['nft', '-j', 'list', 'ruleset'])) as { nftables: object[] };
  return doc.nftables.filter((o) => 'rule' in o).length;
}

/** The guest-ports table's elements, and the size of its `nft -j list table` (what nic up reads). */
export function portElements(lab: PortsLab): { elements: number; jsonBytes: number } {
  const text = inNs(lab.node, ['nft', '-j', 'list', 'table', 'bridge', PORTS_TABLE]);
  const doc = JSON.parse(text) as { nftables: { set?: { elem?: unknown[] }; map?: { elem?: unknown[] } }[] };
  const elements = doc.nftables.reduce((n, o) => n + ((o.set ?? o.map)?.elem?.length ?? 0), 0);
  return { elements, jsonBytes: Buffer.byteLength(text) };
}

/** Packets a guest's eth0 received so far. */
export function rxPackets(lab: PortsLab, guest: string): number {
  const [link] = JSON.parse(inNs(lab.ns(guest), ['ip', '-s', '-j', 'link', 'show', 'eth0'])) as {
    stats64: { rx: { packets: number } };
  }[];
  if (!link) throw new Error(`${lab.ns(guest)} has no eth0`);
  return link.stats64.rx.packets;
}
