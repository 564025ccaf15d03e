// Guest ports: anti-spoofing, private networks by MAC prefix and firewall profiles (seed 003, F20/F23/F25).
import type { Feature } from '../feature.ts';
import { compilePorts } from './compile.ts';

export const ports: Feature = {
  name: 'ports',
  compile: (ctx, node, plan) => compilePorts(ctx, node, plan),
};
