// The cluster's features, in the order they add to a node's plan (the order its files render in).
import { anycast } from './anycast/index.ts';
import { ctsync } from './ctsync/index.ts';
import type { Feature } from './feature.ts';
import { fullnat } from './fullnat/index.ts';
import { proxy } from './proxy/index.ts';
import { stateless } from './stateless/index.ts';

export const FEATURES: readonly Feature[] = [stateless, fullnat, ctsync, anycast, proxy];
