// Probes that change a client or read its neighbours: a spoofed source or MAC taken for one probe and
// given back; a multicast or broadcast datagram, with every other guest listening at once; an ARP
// announcement of another's address, judged by the peer's neighbour table. Each runs alone.
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from '../../../lab/agent.ts';
import { CLIENT_LIMIT_MS, clientFailure, type Outcome } from '../../../lab/outcome.ts';
import { paced } from '../../../lab/pace.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';
import { UPSTREAM } from './topology.ts';

/** The port a multicast or broadcast datagram goes to; nobody serves it, listeners see the frame. */
export const SEGMENT_PORT = 9999;
/** How long listeners wait for the datagram, at the usual pace. */
const LISTEN_MS = 1_000;

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

function ipIn(
  lab: LabInstance,
  host: string,
  args: string[],
): { code: number; stdout: string; stderr: string } {
  return lab.runner(['ip', '-n', lab.ns(host), ...args]);
}

function macOf(lab: LabInstance, host: string, iface: string): string | undefined {
  const r = ipIn(lab, host, ['-j', 'link', 'show', 'dev', iface]);
  const [link] = (parseJson(r.stdout) as { address?: string }[] | undefined) ?? [];
  return link?.address;
}

/** Runs `run` with the client's NIC on the probe's MAC and spoofed source; both given back after. */
export async function withClientChanges(
  lab: LabInstance,
  probe: Probe,
  run: () => Promise<Outcome>,
): Promise<Outcome> {
  const f = probe.client15;
  const iface = f.iface ?? 'eth0';
  const undo: string[][] = [];
  try {
    if (f.mac !== undefined) {
      const own = macOf(lab, probe.client, iface);
      const r = ipIn(lab, probe.client, ['link', 'set', 'dev', iface, 'address', f.mac]);
      if (r.code !== 0 || own === undefined)
        return { error: `${probe.client} could not take MAC ${f.mac}: ${r.stderr.trim()}` };
      undo.push(['link', 'set', 'dev', iface, 'address', own]);
    }
    if (f.source !== undefined) {
      // The client knows the peer's MAC first, from its own address: then the spoofed packet
      // itself meets the port's guard, not an ARP request from the spoofed address.
      await lab.runAsync([
        'ip',
        'netns',
        'exec',
        lab.ns(probe.client),
        'ping',
        '-c',
        '1',
        '-W',
        '1',
        '-n',
        formatIPv4(probe.address),
      ]);
      const cidr = `${formatIPv4(f.source)}/32`;
      const r = ipIn(lab, probe.client, ['address', 'add', cidr, 'dev', iface]);
      if (r.code !== 0)
        return { error: `${probe.client} could not add ${cidr} to ${iface}: ${r.stderr.trim()}` };
      undo.push(['address', 'del', cidr, 'dev', iface]);
    }
    return await run();
  } finally {
    for (const args of undo.reverse()) ipIn(lab, probe.client, args);
  }
}

/** One datagram to the group or broadcast address out of the client's NIC (a node's bridge); who received it. */
export async function runSegment(lab: LabInstance, probe: Probe): Promise<Outcome> {
  const f = probe.client15;
  const listeners = f.listeners ?? [];
  const byNs = new Map(listeners.map((h) => [lab.ns(h), h]));
  const limitMs = paced(CLIENT_LIMIT_MS);
  const wait = String(paced(LISTEN_MS) / 1000);
  const iface = f.iface ?? 'eth0';
  const send =
    probe.check.proto === 'vrrp'
      ? ['vrrp', iface, wait]
      : ['segment', iface, formatIPv4(probe.address), String(SEGMENT_PORT), wait];
  const r = await lab.runAsync(
    [
      'ip',
      'netns',
      'exec',
      lab.ns(probe.client),
      PYTHON,
      join(AGENT_DIR, 'probe.py'),
      ...send,
      ...byNs.keys(),
    ],
    { timeoutMs: limitMs },
  );
  const out = parseJson(r.stdout) as { received?: string[]; error?: string } | undefined;
  if (!out) return { error: clientFailure('probe.py', r, limitMs) };
  if (out.error) return { error: out.error };
  const got = (out.received ?? []).map((ns) => byNs.get(ns) ?? ns);
  return got.length === 0 ? { silent: true, answered: '' } : { answered: got.join(',') };
}

interface Neighbour {
  readonly lladdr?: string;
  readonly state?: string[];
}

function neighbour(lab: LabInstance, host: string, address: string): Neighbour | undefined {
  const r = ipIn(lab, host, ['-j', 'neigh', 'show', 'to', address]);
  const [entry] = (parseJson(r.stdout) as Neighbour[] | undefined) ?? [];
  return entry;
}

/**
 * The client announces another's address at its own MAC (a gratuitous ARP). The peer resolves that
 * address first, so it has an entry a Linux host would update; taken = the entry now names the client.
 */
export async function runGarp(lab: LabInstance, probe: Probe): Promise<Outcome> {
  const f = probe.client15;
  const a = f.announce;
  if (!a) return { error: 'a garp check needs the address it announces' };
  const peer = probe.check.to.kind === 'guest' ? probe.check.to.name : '';
  const address = formatIPv4(a.address);
  const iface = f.iface ?? 'eth0';
  const mine = macOf(lab, probe.client, iface);
  await lab.runAsync(['ip', 'netns', 'exec', lab.ns(peer), 'ping', '-c', '1', '-W', '1', '-n', address]);
  const before = neighbour(lab, peer, address);
  if (!before?.lladdr || mine === undefined)
    return {
      error: `${peer} could not resolve ${address} (${a.owner}) first, so an announcement would prove nothing`,
    };
  try {
    const r = await lab.runAsync([
      'ip',
      'netns',
      'exec',
      lab.ns(probe.client),
      PYTHON,
      join(AGENT_DIR, 'probe.py'),
      'garp',
      iface,
      address,
      mine,
    ]);
    if (r.code !== 0) return { error: clientFailure('probe.py', r, CLIENT_LIMIT_MS) };
    await new Promise((done) => setTimeout(done, paced(300)));
    const after = neighbour(lab, peer, address);
    if (after?.lladdr === mine)
      return { answered: `${peer} took ${address} at ${probe.client}'s ${mine}`, macs: [mine] };
    return { silent: true, error: `${peer} kept ${address} at ${after?.lladdr ?? 'no MAC'} (${a.owner})` };
  } finally {
    // An announcement that got through reached every host on the segment that knew the address:
    // each forgets it, so that later checks meet the owner again.
    for (const host of [...lab.cluster.guests.map((g) => g.name), UPSTREAM])
      ipIn(lab, host, ['neigh', 'flush', 'to', address]);
  }
}
