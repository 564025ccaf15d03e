// FULL-NAT inbound: the entering node rewrites both addresses (seed parts 1-3).
import type { Feature } from '../feature.ts';
import { compileFullnat } from './compile.ts';

export const fullnat: Feature = { name: 'fullnat', compile: compileFullnat };
