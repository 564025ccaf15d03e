// `expect.through`: did the check's flow pass an inserted appliance, both ways? The appliance's
// forward counters (one per conntrack direction) are read before and after the check, which runs
// alone so that no other flow moves them.
import type { Outcome } from '../../../lab/outcome.ts';
import { type ApplianceCounters, appliancesOf, type FlowKey, readCounters } from './appliance.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';

/** What `through: none` means. */
export const THROUGH_NONE = 'none';

type Deltas = Map<string, ApplianceCounters>;

function snapshot(lab: LabInstance, flow: FlowKey): Deltas {
  return new Map(
    appliancesOf(lab.cluster, lab.topology).map((a) => [a.guest, readCounters(lab, a.guest, flow)]),
  );
}

/**
 * The check's packets at the appliance: by its client port (tcp, udp: kept through every NAT on the
 * path), else by its protocol (ping: ICMP, vrrp: 112). Another check's late retransmission (a
 * failed flow's server resending its SYN-ACK) is then not counted as this check's.
 */
function flowKey(probe: Probe, clientPort: number): FlowKey {
  switch (probe.check.proto) {
    case 'http':
    case 'tcp':
      return { proto: ['tcp', 6], clientPort };
    case 'udp':
      return { proto: ['udp', 17], clientPort };
    case 'ping':
      return { proto: ['icmp', 1] };
    case 'vrrp':
      return { proto: ['vrrp', 112] };
    case 'arp':
    case 'garp':
    case 'multicast':
    case 'broadcast':
      return { proto: ['udp', 17] };
  }
}

/** Runs the check, and adds each appliance's packets of its flow, both directions, to its figures. */
export async function countThrough(
  lab: LabInstance,
  probe: Probe,
  clientPort: number,
  run: () => Promise<Outcome>,
): Promise<Outcome> {
  const flow = flowKey(probe, clientPort);
  const before = snapshot(lab, flow);
  const outcome = await run();
  const figures: Record<string, number> = {};
  for (const [guest, after] of snapshot(lab, flow)) {
    const was = before.get(guest) as ApplianceCounters;
    for (const key of ['original', 'reply', 'invalid', 'refused'] as const)
      figures[`${guest} ${key}`] = after[key] - was[key];
  }
  // A client that got no answer says why when an appliance refused it: management steered into it.
  const refused = Object.keys(figures)
    .filter((k) => k.endsWith(' refused') && (figures[k] ?? 0) > 0)
    .map(
      (k) =>
        `appliance ${k.slice(0, -' refused'.length)} refused ${figures[k]} packets to its management port on a NIC other than its management NIC`,
    );
  const error =
    outcome.error && refused.length > 0 ? `${outcome.error}; ${refused.join('; ')}` : outcome.error;
  return { ...outcome, ...(error ? { error } : {}), figures: { ...outcome.figures, ...figures } };
}

const count = (outcome: Outcome, key: string) => Number(outcome.figures?.[key] ?? 0);

/** What is wrong with the path: an appliance passed (or not) in both directions. */
export function throughProblems(probe: Probe, outcome: Outcome): string[] {
  const through = probe.expect.through;
  if (through === undefined) return [];
  const words = (g: string) =>
    `${count(outcome, `${g} original`)} packets original, ${count(outcome, `${g} reply`)} reply` +
    (count(outcome, `${g} invalid`) > 0
      ? `, ${count(outcome, `${g} invalid`)} dropped as invalid meanwhile (any flow)`
      : '');
  const guests = Object.keys(outcome.figures ?? {})
    .filter((k) => k.endsWith(' original'))
    .map((k) => k.slice(0, -' original'.length));
  if (through === THROUGH_NONE)
    return guests
      .filter((g) => count(outcome, `${g} original`) + count(outcome, `${g} reply`) > 0)
      .map((g) => `the flow passed appliance ${g} (${words(g)}); expected no appliance`);
  if (count(outcome, `${through} original`) > 0 && count(outcome, `${through} reply`) > 0) return [];
  return [`appliance ${through} forwarded ${words(through)}; expected both directions to pass it`];
}
