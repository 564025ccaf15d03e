// The anycast gateway: one gateway address on every node, its ARP kept off the pipes (seed parts 1-4).
import type { Feature } from '../feature.ts';
import { compileAnycast } from './compile.ts';

export const anycast: Feature = {
  name: 'anycast',
  compile: (ctx, node, plan) => compileAnycast(ctx, node, plan),
};
