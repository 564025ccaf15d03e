// CgnatPlan -> the files an operator deploys on the CGNAT router, by relative path. Deterministic.

import { FILES, nftablesFile, type RenderedFile } from '../../host/files.ts';
import { renderModules, renderSysctl } from '../../host/sysctl.ts';
import type { CgnatPlan, IpBatch } from './plan.ts';

/** How each batch file is loaded, in the order the operator runs them. */
export function loadCommand(batch: IpBatch): string {
  if (batch.namespace) return `ip -n ${batch.namespace} -batch ${batch.file}`;
  return batch.family === 6 ? `ip -6 -batch ${batch.file}` : `ip -batch ${batch.file}`;
}

function renderBatch(batch: IpBatch, header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  let last = '';
  for (const c of batch.commands) {
    if (c.source !== last) out.push('', `# ${c.source}`);
    last = c.source;
    out.push(c.line);
  }
  return `${out.join('\n')}\n`;
}

export function renderCgnat(plan: CgnatPlan): RenderedFile[] {
  const who = `convergent: CGNAT ${plan.cgnat}, router ${plan.router} (backend ${plan.backend}). Generated from the spec: edit the spec, not this file.`;
  const order = plan.batches.map(loadCommand).join('; ');
  const files: RenderedFile[] = [
    nftablesFile(
      plan,
      who,
      'Owns only the table inet convergent; other tables on the host are left as they are.',
    ),
    ...plan.batches.map((b) => ({
      path: b.file,
      chunks: [renderBatch(b, [who, `Load: ${loadCommand(b)}`, `All of them, in order: ${order}`])],
    })),
    {
      path: FILES.sysctl,
      chunks: [renderSysctl(plan, [who, 'Apply after the ip files: sysctl -p <this file>'])],
    },
    ...[...plan.namespaceSysctls].map(([ns, sysctls]) => ({
      path: `netns/${ns}.sysctl.conf`,
      chunks: [
        renderSysctl({ sysctls }, [
          who,
          `The tenant namespace's own: ip netns exec ${ns} sysctl -p netns/${ns}.sysctl.conf`,
        ]),
      ],
    })),
    {
      path: FILES.modules,
      chunks: [renderModules(plan, [who, 'Kernel modules loaded at boot (systemd-modules-load).'])],
    },
  ];
  return files;
}
