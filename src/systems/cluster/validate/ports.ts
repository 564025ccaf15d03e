// A link has one master: it is the slave of one bond or the port of one bridge (the uplink's, a
// network's through its trunk, a gateway network's through a pipe), or a routed network's uplink
// (which the node routes, bridging nothing). Two claims on one link on one node are one problem,
// said where the later one is written, with the fix that fits the pair.
import type { SpecPath } from '../../../input/problem.ts';
import type { BridgedNetwork } from '../model.ts';
import type { ClusterSpec } from '../schema.ts';
import type { Report } from './common.ts';
import { kindOf, type LinkSet, onEveryNode } from './links.ts';

type Role = 'slave' | 'uplink' | 'trunk' | 'pipe';

interface Claim {
  readonly role: Role;
  /** Who holds the link: "bond bond0", "bridge prv0". Claims of one master never clash. */
  readonly master: string;
  /** "a slave of bond bond0", "the port of bridge vlan104 (network vlan104)". */
  readonly what: string;
  readonly path: SpecPath;
  /** For a trunk's claim: the network, and for a slave's: the bond. */
  readonly owner: string;
  /** A trunk's claim for a network from a VLAN pool (pools.ts checks their VLANs). */
  readonly pooled?: boolean;
  /** A trunk's claim for a routed network (routed.ts says two on one device). */
  readonly routed?: boolean;
}

export function checkPorts(spec: ClusterSpec, bridged: readonly BridgedNetwork[], report: Report): void {
  onEveryNode(spec, report, (set, r) => {
    const held = new Map<string, Claim>();
    const bonded = new Set<string>(); // bonds whose slaves are also uplink ports: said once
    for (const [link, claim] of claimsOf(spec, set, bridged)) {
      const first = held.get(link);
      if (first === undefined) held.set(link, claim);
      else if (first.master === claim.master) continue;
      else if (claim.role === 'uplink' && first.role === 'slave') {
        if (!bonded.has(first.owner)) slavesAsPorts(set, first.owner, claim, r);
        bonded.add(first.owner);
      } else clash(link, first, claim, r);
    }
  });
}

/** Every claim of the node, in the order that puts each problem where its fix is written. */
function claimsOf(spec: ClusterSpec, set: LinkSet, bridged: readonly BridgedNetwork[]): [string, Claim][] {
  const out: [string, Claim][] = [];
  for (const d of set.interfaces.values())
    d.spec.bond?.slaves.forEach((slave, i) => {
      // A slave that is no NIC (the bond itself, a VLAN, a bond) is interfaces.ts's to say.
      if (slave === d.name || kindOf(set, slave) !== 'nic') return;
      out.push([
        slave,
        {
          role: 'slave',
          master: `bond ${d.name}`,
          what: `a slave of bond ${d.name}`,
          path: [...d.path, 'bond', 'slaves', i],
          owner: d.name,
        },
      ]);
    });
  set.uplinkPorts.forEach((port, i) => {
    const bridge = `bridge ${set.uplinkBridge}`;
    out.push([
      port,
      {
        role: 'uplink',
        master: bridge,
        what: `a port of the uplink ${bridge}`,
        path: [...set.portsPath, i],
        owner: '',
      },
    ]);
  });
  for (const net of bridged) {
    if (!net.uplink) continue;
    const path = ['networks', net.name, net.pool ? 'pool' : net.uplink.vlan === undefined ? 'trunk' : 'vlan'];
    const what = `the port of bridge ${net.bridge} (network ${net.name})`;
    const master = `bridge ${net.bridge}`;
    const claim: Claim = {
      role: 'trunk',
      master,
      what,
      path,
      owner: net.name,
      pooled: net.pool !== undefined,
    };
    out.push([net.uplink.device, claim]);
  }
  out.push(...routedClaims(spec));
  if (set.node !== undefined) out.push(...pipeClaims(spec, set.node));
  return out;
}

/** A routed network's uplink device: the trunk, or its VLAN. */
function routedClaims(spec: ClusterSpec): [string, Claim][] {
  return Object.entries(spec.networks).flatMap(([name, net]): [string, Claim][] => {
    if (net.mode !== 'routed' || net.trunk === undefined) return [];
    const device = net.vlan === undefined ? net.trunk : `${net.trunk}.${net.vlan}`;
    const path = ['networks', name, net.vlan === undefined ? 'trunk' : 'vlan'];
    const what = `the uplink of routed network ${name}`;
    return [[device, { role: 'trunk', master: `network ${name}`, what, path, owner: name, routed: true }]];
  });
}

function pipeClaims(spec: ClusterSpec, node: string): [string, Claim][] {
  const out: [string, Claim][] = [];
  for (const [name, net] of Object.entries(spec.networks)) {
    if (net.mode !== 'gateway') continue;
    const bridge = net.bridge ?? 'guestbr0';
    net.pipes.forEach((pipe, i) => {
      const link = pipe[node];
      if (link === undefined) return;
      const what = `a pipe of network ${name} (a port of bridge ${bridge})`;
      const path = ['networks', name, 'pipes', i, node];
      out.push([link, { role: 'pipe', master: `bridge ${bridge}`, what, path, owner: name }]);
    });
  }
  return out;
}

/** The uplink bridge holding a bond's slaves (the seed's pair of NICs) rather than the bond. */
function slavesAsPorts(set: LinkSet, bond: string, claim: Claim, report: Report): void {
  const slaves = set.uplinkPorts.filter((p) => set.interfaces.get(bond)?.spec.bond?.slaves.includes(p));
  report(
    claim.path,
    `${slaves.join(', ')} ${slaves.length > 1 ? 'are slaves' : 'is a slave'} of bond ${bond}, and ports of the uplink bridge ${set.uplinkBridge} too: a link is the slave of one bond or the port of one bridge`,
    `make the bond the port: ports: [${[bond, ...set.uplinkPorts.filter((p) => !slaves.includes(p))].join(', ')}]`,
  );
}

function clash(link: string, first: Claim, later: Claim, report: Report): void {
  // A pipe against a pipe or an uplink port: pipes.ts says it already.
  if (later.role === 'pipe' && (first.role === 'pipe' || first.role === 'uplink')) return;
  // A pool's VLAN on the trunk of another network or pool: pools.ts says it by VLAN range.
  if (later.role === 'trunk' && first.role === 'trunk' && (later.pooled || first.pooled)) return;
  // Two routed networks on one device: routed.ts says it.
  if (later.routed && first.routed) return;
  report(
    later.path,
    later.routed || first.routed
      ? `${link} is already ${first.what}: a link is the slave of one bond, the port of one bridge or the uplink of one routed network`
      : `${link} is already ${first.what}: a link is the slave of one bond or the port of one bridge`,
    fixFor(link, first, later),
  );
}

function fixFor(link: string, first: Claim, later: Claim): string {
  switch (later.role) {
    case 'slave':
      return `a NIC is the slave of one bond: remove ${link} from bond ${later.owner} or from ${first.master}`;
    case 'uplink':
      return first.role === 'slave'
        ? `make the bond the port: ports: [${first.owner}]`
        : `give the uplink bridge a port of its own`;
    case 'trunk':
      if (first.role === 'slave') return `carry network ${later.owner} on the bond: trunk: ${first.owner}`;
      if (first.role === 'trunk')
        return later.routed || first.routed
          ? `give network ${later.owner} a VLAN of its own`
          : `give network ${later.owner} another VLAN, or the bridge of network ${first.owner} (private networks by MAC prefix may share one)`;
      return `tag network ${later.owner} with a VLAN of its own (vlan: N), so that ${later.routed ? 'it routes over' : 'its bridge holds'} ${link}.N`;
    case 'pipe':
      return 'give the pipe its own interface';
  }
}
