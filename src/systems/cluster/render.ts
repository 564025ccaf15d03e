// HostPlan -> the files an operator deploys on the node, by relative path. Deterministic: the same
// plan gives byte-identical files (no dates, no absolute paths).

import { renderIpBatch } from '../../host/ip.ts';
import type { HostPlan } from '../../host/plan.ts';
import { renderModules, renderSysctl } from '../../host/sysctl.ts';
import { renderRuleset } from '../../nft/render.ts';
import { FAULTS, type Fault } from '../faults.ts';
import { renderConntrackd } from './features/ctsync/render.ts';
import { renderHaproxy } from './features/proxy/render.ts';

export const FILES = {
  nftables: 'nftables.conf',
  ipBatch: 'network.ip',
  sysctl: 'sysctl.d/90-convergent.conf',
  modules: 'modules-load.d/convergent.conf',
  haproxy: 'haproxy.cfg',
  conntrackd: 'conntrackd.conf',
} as const;

export interface RenderedFile {
  readonly path: string;
  /** The file's text in order; write them one after the other (large shared maps stay one chunk). */
  readonly chunks: readonly string[];
}

export function textOf(file: RenderedFile): string {
  return file.chunks.join('');
}

export function renderNode(plan: HostPlan): RenderedFile[] {
  const who = `convergent: cluster ${plan.cluster}, node ${plan.node}. Generated from the cluster spec: edit the spec, not this file.`;
  const files: RenderedFile[] = [
    {
      path: FILES.nftables,
      chunks: renderRuleset(plan.ruleset, [
        who,
        'Owns only the tables named "convergent"; other tables on the host are left as they are.',
        'Check: nft -c -f nftables.conf    Load: nft -f nftables.conf',
        ...plan.faults.map(
          (f) => `FAULT INJECTED for a lab demonstration, never deploy: ${f}: ${FAULTS[f as Fault]}`,
        ),
      ]),
    },
    {
      path: FILES.ipBatch,
      chunks: [
        renderIpBatch(plan, [
          who,
          'Links, addresses and routes for bring-up: ip -batch network.ip',
          'Ports (uplink ports, cluster pipes) must exist first. "address/route replace" can be re-run;',
          '"link add" reports "File exists" for a bridge that is already there.',
        ]),
      ],
    },
    {
      path: FILES.sysctl,
      chunks: [
        renderSysctl(plan, [
          who,
          'Apply after network.ip (per-interface keys need the interfaces): sysctl -p <this file>',
        ]),
      ],
    },
  ];
  if (plan.modules.length > 0) {
    files.push({
      path: FILES.modules,
      chunks: [renderModules(plan, [who, 'Kernel modules loaded at boot (systemd-modules-load).'])],
    });
  }
  if (plan.proxies.length > 0) {
    files.push({
      path: FILES.haproxy,
      chunks: [
        renderHaproxy(plan, [
          who,
          'HTTP reverse proxies: haproxy -f haproxy.cfg (check: haproxy -c -f haproxy.cfg)',
        ]),
      ],
    });
  }
  if (plan.conntrackd) {
    files.push({
      path: FILES.conntrackd,
      chunks: [
        renderConntrackd(plan, [
          who,
          'conntrack state replication (strategy ctsync): /etc/conntrackd/conntrackd.conf, then start conntrackd',
          'Load nftables.conf first: it keeps the sync traffic out of conntrack and away from the guests.',
        ]),
      ],
    });
  }
  return files;
}
