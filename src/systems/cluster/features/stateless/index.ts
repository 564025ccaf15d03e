// STATELESS inbound with per-node tags (seed part 4).
import type { Feature } from '../feature.ts';
import { compileStateless } from './compile.ts';

export const stateless: Feature = { name: 'stateless', compile: compileStateless };
