// `expect.through`: did the check's flow pass an inserted appliance, both ways? The appliance's
// forward counters (one per conntrack direction) are read before and after the check, which runs
// alone so that no other flow moves them.
import type { Outcome } from '../../../lab/outcome.ts';
import { type ApplianceCounters, appliancesOf, readCounters } from './appliance.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';

/** What `through: none` means. */
export const THROUGH_NONE = 'none';

type Deltas = Map<string, ApplianceCounters>;

function snapshot(lab: LabInstance): Deltas {
  return new Map(appliancesOf(lab.cluster, lab.topology).map((a) => [a.guest, readCounters(lab, a.guest)]));
}

/** Runs the check, and adds each appliance's packets in both directions meanwhile to its figures. */
export async function countThrough(lab: LabInstance, run: () => Promise<Outcome>): Promise<Outcome> {
  const before = snapshot(lab);
  const outcome = await run();
  const figures: Record<string, number> = {};
  for (const [guest, after] of snapshot(lab)) {
    const was = before.get(guest) as ApplianceCounters;
    for (const key of ['original', 'reply', 'invalid', 'refused'] as const)
      figures[`${guest} ${key}`] = after[key] - was[key];
  }
  return { ...outcome, figures: { ...outcome.figures, ...figures } };
}

const count = (outcome: Outcome, key: string) => Number(outcome.figures?.[key] ?? 0);

/** What is wrong with the path: an appliance passed (or not) in both directions. */
export function throughProblems(probe: Probe, outcome: Outcome): string[] {
  const through = probe.expect.through;
  if (through === undefined) return [];
  const words = (g: string) =>
    `${count(outcome, `${g} original`)} packets original, ${count(outcome, `${g} reply`)} reply` +
    (count(outcome, `${g} invalid`) > 0 ? `, ${count(outcome, `${g} invalid`)} dropped as invalid` : '');
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
