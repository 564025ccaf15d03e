// The cluster's features, in the order they add to a node's plan (the order its files render in:
// proxy's haproxy.cfg before ctsync's conntrackd.conf; proxy adds no nft objects, so its place among
// the others changes no ruleset).
import { anycast } from './anycast/index.ts';
import { ctsync } from './ctsync/index.ts';
import type { Feature } from './feature.ts';
import { fullnat } from './fullnat/index.ts';
import { ports } from './ports/index.ts';
import { proxy } from './proxy/index.ts';
import { routed } from './routed/index.ts';
import { router } from './router/index.ts';
import { stateless } from './stateless/index.ts';

export const FEATURES: readonly Feature[] = [
  stateless,
  fullnat,
  proxy,
  ctsync,
  anycast,
  ports,
  routed,
  router,
];
