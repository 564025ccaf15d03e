// Links, addresses and routes -> network.sh, a POSIX sh script an operator can run again and again:
// `ip -batch` could not (`ip link add` fails on a link that exists, and `ip link replace` is
// refused for one: EOPNOTSUPP). Each link is created only when missing, then its options, MTU and
// ports are set to what the plan says (parents before what sits on them); a NIC joins its bond only
// when not in it yet (a slave must be down to join, and one in service is never bounced); addresses
// and routes are replaced. Bring-up order: NICs, bonds, VLANs, bridges and their ports, addresses
// (a device's first address on a subnet is its primary), routes.
import { FILES } from './files.ts';
import type { BondPlan, BridgePlan, HostPlan, LinkPlan } from './plan.ts';
import {
  INSERT_RULE_PREF,
  linkAlias,
  routeCommand,
  ruleCommand,
  ruleDeleteCommand,
  tableLine,
} from './routing.ts';

// Helpers the commands below use; only `ip`, `grep` and `sed`, as on any host.
const HAS = ['# has LINK: the link exists.', 'has() { ip link show dev "$1" >/dev/null 2>&1; }'];
// ... and those of a node with a bond.
/** `enslave NIC BOND`: a NIC must be down to join a bond; one already in it stays up as it is (apply runs it too). */
export const ENSLAVE = [
  '# enslave NIC BOND: a NIC must be down to join a bond; one already in it stays up as it is.',
  'enslave() {',
  '  if ! ip -o link show dev "$1" | grep -q " master $2 "; then',
  '    ip link set dev "$1" down',
  '    ip link set dev "$1" master "$2"',
  '  fi',
  '}',
];
const BOND_HELPERS = [
  ...ENSLAVE,
  '# bond_mode BOND MODE: a bond changes mode only without slaves: refuse rather than bounce it.',
  'bond_mode() {',
  '  mode=$(ip -d -o link show dev "$1" | sed -n \'s/.* bond mode \\([^ ]*\\) .*/\\1/p\')',
  '  if [ -z "$mode" ]; then',
  '    echo "network.sh: $1 exists but is no bond: rename or delete it (ip link del $1), then run this again" >&2',
  '    exit 1',
  '  elif [ "$mode" != "$2" ]; then',
  '    echo "network.sh: $1 is in mode $mode, the spec says $2: a bond changes mode only without slaves (ip link del $1, then run this again)" >&2',
  '    exit 1',
  '  fi',
  '}',
];

export function renderNetworkScript(plan: HostPlan, header: readonly string[]): string {
  const bonds = plan.links.filter((l) => l.kind === 'bond');
  const out = ['#!/bin/sh', ...[...header, ...tablesNote(plan)].map((h) => `# ${h}`), 'set -eu', '', ...HAS];
  if (bonds.length > 0) out.push(...BOND_HELPERS);
  // Refused before anything changes: a bond in another mode (or a link of that name that is none).
  for (const bond of bonds)
    out.push(
      '',
      `# ${bond.source}: mode ${bond.mode}`,
      `! has ${bond.name} || bond_mode ${bond.name} ${bond.mode}`,
    );
  const slaves = new Set(bonds.flatMap((b) => b.slaves));
  for (const link of plan.links) out.push('', `# ${link.source}`, ...linkLines(link, slaves));
  for (const bridge of plan.bridges) out.push('', `# ${bridge.source}`, ...bridgeLines(bridge));
  out.push('');
  for (const a of plan.addresses) out.push(`# ${a.source}`, `ip address replace ${a.cidr} dev ${a.dev}`);
  out.push('');
  for (const r of plan.routes) out.push(`# ${r.source}`, routeCommand(r));
  if (plan.rules.length > 0) out.push('', ...rulesNote(plan));
  for (const r of plan.rules) out.push(`# ${r.source}`, ruleCommand(r));
  out.push('', ...staleSteering(plan));
  return `${out.join('\n')}\n`;
}

/**
 * Steering of a former plan (an `insert:` removed, a network gone): its rules would keep sending the
 * guests to an appliance that no NOTRACK chain pairs any more. Removed after the rules above are in,
 * so the steering never fails open meanwhile; on every node, since a router may move.
 */
function staleSteering(plan: HostPlan): string[] {
  const prefs = plan.rules.filter((r) => r.pref >= INSERT_RULE_PREF).map((r) => r.pref);
  // By number (ip -N): a name comes from whatever rt_tables.d the host has, perhaps a former plan's.
  const kept = ['253', '254', '255', ...plan.tables.map((t) => String(t.id))];
  const last = INSERT_RULE_PREF + 999;
  return [
    `# Convergent's steering preferences (${INSERT_RULE_PREF}-${last}) not above: delete them, and flush the`,
    "# tables they looked up that no rule looks up any more (never this plan's, never the kernel's).",
    `stale=$(ip -N -4 rule show | sed -n 's/^\\(2[0-9][0-9][0-9]\\):.* lookup \\([0-9]*\\).*/\\1 \\2/p')`,
    'echo "$stale" | while read -r pref table; do',
    '  [ -n "$pref" ] || continue',
    `  case " ${prefs.join(' ')} " in *" $pref "*) continue ;; esac`,
    `  ${ruleDeleteCommand(4, '"$pref"')}`,
    `  case " ${kept.join(' ')} " in *" $table "*) continue ;; esac`,
    '  ip -N -4 rule show | grep -q " lookup $table\\( \\|$\\)" || ip -4 route flush table "$table" 2>/dev/null || true',
    'done',
  ];
}

const RULES_NOTE = [
  "# Policy rules: preferences 1000-1999 are convergent's (each rule holds one; a run replaces whatever",
  '# holds it), ten per routed network in spec order: +0 iif <uplink>, +1 from <subnet>, +2 to <subnet>.',
];
const INSERT_NOTE = [
  "# Steering into an appliance (seed 004): preferences 2000-2999 are convergent's (each rule holds one),",
  '# ten per inserting network in spec order: +0.. iif <bridge> to <a subnet the node routes> lookup main (never',
  '# steered), +8 iif <bridge> (egress), +9 iif <uplink> to <subnet> (ingress) into its table.',
];

/** What the preferences in use mean: routed networks' and inserting networks' each when present. */
function rulesNote(plan: HostPlan): string[] {
  const routed = plan.rules.some((r) => r.pref < INSERT_RULE_PREF);
  const insert = plan.rules.some((r) => r.pref >= INSERT_RULE_PREF);
  return [...(routed ? RULES_NOTE : []), ...(insert ? INSERT_NOTE : [])];
}

/** "# Routing tables (numbers below; rt_tables.d/convergent.conf names them): 500 public, 100 internal" */
function tablesNote(plan: HostPlan): string[] {
  if (plan.tables.length === 0) return [];
  return [
    `Routing tables (numbers below; ${FILES.rtTables} names them): ${plan.tables.map(tableLine).join(', ')}`,
  ];
}

const mtu = (link: { mtu?: number }) => (link.mtu === undefined ? '' : ` mtu ${link.mtu}`);
/** The alias that marks a link as convergent's (apply deletes such a link once the spec drops it). */
const alias = (link: { name: string; source: string }) =>
  `ip link set dev ${link.name} alias '${linkAlias(link.source)}'`;

function linkLines(link: LinkPlan, slaves: ReadonlySet<string>): string[] {
  switch (link.kind) {
    case 'nic':
      // A bond's slave is brought up by its bond; bringing it up here would only bounce it.
      return [`ip link set dev ${link.name}${mtu(link)}${slaves.has(link.name) ? '' : ' up'}`];
    case 'bond':
      return bondLines(link);
    case 'vlan': {
      const loose = link.looseBinding ? ' loose_binding on' : '';
      return [
        `has ${link.name} || ip link add link ${link.parent} name ${link.name} type vlan id ${link.id}${loose}`,
        ...(link.looseBinding ? [`ip link set dev ${link.name} type vlan loose_binding on`] : []),
        `ip link set dev ${link.name}${mtu(link)} up`,
        alias(link),
      ];
    }
  }
}

function bondLines(bond: BondPlan): string[] {
  const options = [`miimon ${bond.miimon}`];
  if (bond.xmitHashPolicy !== undefined) options.push(`xmit_hash_policy ${bond.xmitHashPolicy}`);
  return [
    `has ${bond.name} || ip link add ${bond.name} type bond mode ${bond.mode}`,
    `ip link set dev ${bond.name} type bond ${options.join(' ')}`,
    alias(bond),
    ...bond.slaves.map((s) => `enslave ${s} ${bond.name}`),
    // The primary names a slave: set once the slaves are in.
    ...(bond.primary === undefined ? [] : [`ip link set dev ${bond.name} type bond primary ${bond.primary}`]),
    // The bond's MTU is its slaves' too: the kernel sets theirs with it.
    `ip link set dev ${bond.name}${mtu(bond)} up`,
  ];
}

function bridgeLines(bridge: BridgePlan): string[] {
  const options = [`stp_state ${bridge.stp ? 1 : 0}`];
  // ip counts the forward delay in hundredths of a second.
  if (bridge.forwardDelay !== undefined) options.push(`forward_delay ${bridge.forwardDelay * 100}`);
  options.push(`nf_call_iptables ${bridge.callIptables ? 1 : 0}`);
  options.push(`mcast_snooping ${bridge.multicastSnooping === false ? 0 : 1}`);
  const mac = bridge.mac ? ` address ${bridge.mac}` : '';
  return [
    `has ${bridge.name} || ip link add ${bridge.name} type bridge`,
    `ip link set dev ${bridge.name} type bridge ${options.join(' ')}`,
    alias(bridge),
    // Joining the bridge it is in already changes nothing.
    ...bridge.ports.map((p) => `ip link set dev ${p} master ${bridge.name} up`),
    // After the ports: a bridge follows its smallest port's MTU until one is set that differs from
    // its own, and only then keeps it (set before its first port, 1500 on a new bridge would not hold).
    ...(mac || bridge.mtu !== undefined ? [`ip link set dev ${bridge.name}${mac}${mtu(bridge)}`] : []),
    `ip link set dev ${bridge.name} up`,
  ];
}
