// HostPlan -> the files an operator deploys on the node, by relative path. Deterministic: the same
// plan gives byte-identical files (no dates, no absolute paths).

import { FILES, nftablesFile, type RenderedFile } from '../../host/files.ts';
import { renderIpBatch } from '../../host/ip.ts';
import type { HostPlan } from '../../host/plan.ts';
import { renderModules, renderSysctl } from '../../host/sysctl.ts';
import { FEATURES } from './features/index.ts';
import { PORTS_TABLE } from './features/ports/names.ts';

export function renderNode(plan: HostPlan): RenderedFile[] {
  const who = `convergent: cluster ${plan.cluster}, node ${plan.node}. Generated from the cluster spec: edit the spec, not this file.`;
  const files: RenderedFile[] = [
    nftablesFile(
      plan,
      who,
      plan.ruleset.tables.some((t) => t.name === PORTS_TABLE)
        ? `Owns only the tables named "convergent" and "${PORTS_TABLE}"; other tables on the host are left as they are.`
        : 'Owns only the tables named "convergent"; other tables on the host are left as they are.',
    ),
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
  for (const feature of FEATURES) files.push(...(feature.files?.(plan, who) ?? []));
  return files;
}
