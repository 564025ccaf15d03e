// A gateway network's router node (seed 004): gateway, NAT, floating IPs and service insertion on one node.
import type { Feature } from '../feature.ts';
import { compileRouter } from './compile.ts';

export const router: Feature = {
  name: 'router',
  compile: (ctx, node, plan) => compileRouter(ctx, node, plan),
};
