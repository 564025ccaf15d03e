// HostPlan -> the files an operator deploys on the node, by relative path. Deterministic: the same
// plan gives byte-identical files (no dates, no absolute paths).

import { type Desired, desiredOf } from '../../apply/desired.ts';
import { FILES, nftablesFile, type RenderedFile, textOf } from '../../host/files.ts';
import { renderInterfaces } from '../../host/ifupdown.ts';
import { renderNetworkScript } from '../../host/network-script.ts';
import type { HostPlan } from '../../host/plan.ts';
import { renderRtProtos } from '../../host/routing.ts';
import { renderModules, renderSysctl } from '../../host/sysctl.ts';
import { FEATURES } from './features/index.ts';

export function renderNode(plan: HostPlan): RenderedFile[] {
  const who = `convergent: cluster ${plan.cluster}, node ${plan.node}. Generated from the cluster spec: edit the spec, not this file.`;
  const files: RenderedFile[] = [
    nftablesFile(
      plan,
      who,
      `Owns only the tables named ${ownedTables(plan)}; other tables on the host are left as they are.`,
    ),
    {
      path: FILES.networkScript,
      chunks: [
        renderNetworkScript(plan, [
          who,
          `Links, addresses and routes for bring-up: sh ${FILES.networkScript} (or ${FILES.interfaces} with ifupdown, not both).`,
          'Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.',
          'Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.',
        ]),
      ],
    },
    {
      path: FILES.interfaces,
      chunks: [
        renderInterfaces(plan, [
          who,
          `The same links, addresses and routes as ${FILES.networkScript}, for ifupdown (Debian, Proxmox, Ganeti):`,
          'copy it to /etc/network/interfaces.d/convergent (interfaces says "source /etc/network/interfaces.d/*"),',
          'then ifup -a. Bonds need ifenslave, bridges bridge-utils (it creates a missing port named PARENT.ID).',
        ]),
      ],
    },
    {
      path: FILES.sysctl,
      chunks: [
        renderSysctl(plan, [
          who,
          `Apply after ${FILES.networkScript} (per-interface keys need the interfaces): sysctl -p <this file>`,
        ]),
      ],
    },
  ];
  files.push({
    path: FILES.rtProtos,
    chunks: [
      renderRtProtos([
        who,
        "The protocol number of convergent's routes and rules, by name for ip: copy to /etc/iproute2/rt_protos.d/convergent.conf",
        '(`convergent apply` changes only the routes and rules of this protocol, and the links whose alias starts "convergent: ").',
      ]),
    ],
  });
  if (plan.modules.length > 0) {
    files.push({
      path: FILES.modules,
      chunks: [renderModules(plan, [who, 'Kernel modules loaded at boot (systemd-modules-load).'])],
    });
  }
  for (const feature of FEATURES) files.push(...(feature.files?.(plan, who) ?? []));
  return files;
}

/** The node as apply makes it: its plan and files (a host's `convergent apply`, and the lab's load). */
export function nodeDesired(plan: HostPlan): Desired {
  const files = renderNode(plan);
  const nft = files.find((f) => f.path === FILES.nftables);
  return desiredOf(plan, files, nft ? textOf(nft) : '');
}

/** '"convergent"', or '"convergent", "convergent_arp" and "convergent_routed"': the tables the file replaces. */
function ownedTables(plan: HostPlan): string {
  const names = [...new Set(['convergent', ...plan.ruleset.tables.map((t) => t.name)])].map((n) => `"${n}"`);
  const last = names.pop() as string;
  return names.length === 0 ? last : `${names.join(', ')} and ${last}`;
}
