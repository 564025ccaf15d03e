// CT-SYNC inbound: conntrackd replicates the entering node's flows to every node (seed part 3).
import type { Feature } from '../feature.ts';
import { compileCtsync } from './compile.ts';
import { startConntrackd, syncStats } from './lab.ts';

export const ctsync: Feature = {
  name: 'ctsync',
  compile: compileCtsync,
  startInLab: startConntrackd,
  report: (lab) => (lab.plans.some((plan) => plan.conntrackd) ? { sync: syncStats(lab) } : {}),
};
