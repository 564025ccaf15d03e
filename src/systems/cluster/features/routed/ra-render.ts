// Router advertisements for the routed networks' guests (F19): what a node's ra.py serves (ra.conf)
// and the systemd unit that runs it. Every node with a routed network that has subnet6 gets both:
// any node may host its guests. The RA itself is built by ra.py per tap (its MAC and MTU, which nic
// up set); the file says per routing table which /64 and which lifetimes.
import type { RenderedFile } from '../../../../host/files.ts';
import type { HostPlan, RouterAdvertisementsPlan } from '../../../../host/plan.ts';
import { formatCidr } from '../../../../util/ip.ts';
import type { Cluster } from '../../model.ts';

export const RA_FILES = {
  conf: 'ra.conf',
  unit: 'systemd/convergent-ra.service',
} as const;

/** Where the unit expects the files on a node. */
export const RA_INSTALLED = {
  conf: '/etc/convergent/ra.conf',
  helper: '/usr/local/lib/convergent/ra.py',
  /** In the package: src/systems/cluster/features/routed/ra.py. */
  shipped: 'src/systems/cluster/features/routed/ra.py',
} as const;

/** Unsolicited RAs on each tap every 75-100 % of this (radvd's MaxRtrAdvInterval default). */
export const RA_INTERVAL = 600;
/** RFC 4861's default, 3 x the interval: a guest keeps its default route across two lost RAs. */
export const ROUTER_LIFETIME = 1800;

/** The networks a node advertises: the routed ones with subnet6 (in the spec's order). */
export function raPlan(cluster: Cluster): RouterAdvertisementsPlan | undefined {
  const networks = cluster.routed.flatMap((n) =>
    n.subnet6 === undefined
      ? []
      : [
          {
            table: n.table.id,
            name: n.name,
            prefix: formatCidr(n.subnet6),
            source: `networks.${n.name}.subnet6`,
          },
        ],
  );
  return networks.length === 0 ? undefined : { networks };
}

/** ra.conf and the unit, on a node whose routed networks have subnet6. */
export function raFiles(plan: HostPlan, who: string): RenderedFile[] {
  const ra = plan.routerAdvertisements;
  if (!ra) return [];
  return [
    { path: RA_FILES.conf, chunks: [renderRaConf(ra, who)] },
    { path: RA_FILES.unit, chunks: [renderRaUnit(plan, ra, who)] },
  ];
}

export function renderRaConf(ra: RouterAdvertisementsPlan, who: string): string {
  const lines = [
    `# ${who}`,
    `# Router advertisements on the routed guest taps, read by ra.py: ${RA_INSTALLED.conf}`,
    '# A tap is served when the record nic up wrote in its alias names one of these tables ("t=500");',
    "# its RA carries the tap's MAC and MTU. Any other interface's router solicitation goes unanswered.",
    '',
    `# An RA on each served tap every ${RA_INTERVAL * 0.75}-${RA_INTERVAL} s; solicitations are answered at once.`,
    `interval ${RA_INTERVAL}`,
  ];
  for (const n of ra.networks)
    lines.push(
      '',
      `# ${n.source}: SLAAC (A=1), not on-link (L=0): a guest reaches every address through its tap.`,
      `# Router lifetime ${ROUTER_LIFETIME} s; the address lives on (infinite) while the daemon is down.`,
      `network ${n.table} ${n.prefix} name ${n.name} router ${ROUTER_LIFETIME} valid infinite preferred infinite`,
    );
  return `${lines.join('\n')}\n`;
}

export function renderRaUnit(plan: HostPlan, ra: RouterAdvertisementsPlan, who: string): string {
  const names = ra.networks.map((n) => n.name).join(', ');
  const lines = [
    `# ${who}`,
    `# The router advertisements of ${names}: /etc/systemd/system/convergent-ra.service, with`,
    `#   install -D -m 644 ra.conf ${RA_INSTALLED.conf}`,
    `#   install -D -m 644 <convergent>/${RA_INSTALLED.shipped} ${RA_INSTALLED.helper}`,
    '#   systemctl daemon-reload && systemctl enable --now convergent-ra',
    '# ra.py needs python3, its standard library only (Debian package python3-minimal is enough).',
    '',
    '[Unit]',
    `Description=convergent: router advertisements for the routed guest taps (cluster ${plan.cluster})`,
    'After=network.target',
    '',
    '[Service]',
    `ExecStart=/usr/bin/python3 -I -S ${RA_INSTALLED.helper} ${RA_INSTALLED.conf}`,
    'Restart=always',
    'RestartSec=2',
    '# One raw ICMPv6 socket; it reads /sys/class/net and writes nothing.',
    'CapabilityBoundingSet=CAP_NET_RAW',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}
