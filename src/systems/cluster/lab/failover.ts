// Bond failover (VM lab): a ping stream runs from the client while the switch side of a node's
// bond slave goes down and comes back. The report gives the failover time (the longest gap between
// replies), the probes lost, and the bond's active slave before, during and after, from
// /proc/net/bonding/<bond>.
import type { Outcome } from '../../../lab/outcome.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';

export async function runFailover(_lab: LabInstance, probe: Probe): Promise<Outcome> {
  return { error: `failover of ${probe.client15.cut?.link} not run yet` };
}
