// CT-SYNC inbound: conntrackd replicates the entering node's flows to every node (seed part 3).
import type { Feature } from '../feature.ts';
import { compileCtsync } from './compile.ts';
import { outranFlows, startConntrackd, syncNeeds, syncStats } from './lab.ts';
import { ctsyncFiles } from './render.ts';

export const ctsync: Feature = {
  name: 'ctsync',
  compile: compileCtsync,
  files: ctsyncFiles,
  startInLab: startConntrackd,
  labNeeds: syncNeeds,
  replyDetours: outranFlows,
  report: (lab) => (lab.plans.some((plan) => plan.conntrackd) ? { sync: syncStats(lab) } : {}),
};
