// HTTP reverse proxies on the nodes, HAProxy toward a guest (seed part 3, use case U1).
import type { Feature } from '../feature.ts';
import { proxyChecks } from './checks.ts';
import { compileProxies } from './compile.ts';
import { proxyNeeds, startProxies } from './lab.ts';
import { proxyFiles } from './render.ts';

export const proxy: Feature = {
  name: 'proxy',
  compile: (ctx, node, plan) => compileProxies(ctx, node, plan),
  files: proxyFiles,
  startInLab: startProxies,
  labNeeds: proxyNeeds,
  derivedChecks: proxyChecks,
};
