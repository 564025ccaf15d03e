// The cluster as a system of the registry: nodes that are the network, their lab in namespaces.
import { join } from 'node:path';
import { type HealthPlan, offLink } from '../../apply/health.ts';
import { FILES } from '../../host/files.ts';
import type { HostPlan } from '../../host/plan.ts';
import { locateAll } from '../../input/load.ts';
import { SpecError } from '../../input/problem.ts';
import { sshNeeds } from '../../lab/preflight.ts';
import { type LabRecord, labDir, SPEC_COPY } from '../../lab/registry.ts';
import { realRunner } from '../../lab/run.ts';
import { formatIPv4 } from '../../util/ipv4.ts';
import { plural } from '../../util/plural.ts';
import { type Fault, faultsWhere } from '../faults.ts';
import { loadSpecFileOf } from '../kinds.ts';
import { describeMarks } from '../marks/model.ts';
import type { ApplyTarget, HostRefusal, LabFlags, Loaded, PreparedLab, System } from '../system.ts';
import { compiler } from './compile/index.ts';
import { conntrackdArgv, runsConntrackd } from './features/ctsync/lab.ts';
import { RA_FILES } from './features/routed/ra-render.ts';
import { clusterKind } from './kind.ts';
import { applyToLab } from './lab/apply.ts';
import { attach, labTest, labUp, type Prepared, prepare, runChecks } from './lab/lab.ts';
import { clusterDevices, clusterNeeds } from './lab/needs.ts';
import { describeTopology } from './lab/topology.ts';
import type { Cluster, Strategy } from './model.ts';
import { nodeDesired, renderNode } from './render.ts';
import { resolve } from './resolve.ts';
import type { ClusterSpec } from './schema.ts';
import { validate } from './validate.ts';

/** A cluster lab's state.json. */
export interface ClusterLabState extends LabRecord {
  readonly kind: 'cluster';
  /** Each node's uplink bridge MAC -> node: how the upstream tells nodes apart on the wire. */
  readonly uplinkMacs: Readonly<Record<string, string>>;
}

function read(loaded: Loaded<ClusterSpec>): Cluster {
  const problems = validate(loaded.spec);
  if (problems.length > 0) throw new SpecError(locateAll(problems, loaded.source, loaded.file));
  return resolve(loaded.spec);
}

/** A cluster spec, checked and resolved; a CGNAT spec is an error located at its kind. */
export const readCluster = (file: string): Cluster => read(loadSpecFileOf(file, clusterKind));

/** "4 networks (2 bridged, 2 private)": every mode counted; gateway networks alone need no words. */
function describeNetworks(c: Cluster): string {
  const modes = [
    ['gateway', c.networks.length],
    ['bridged', c.bridged.filter((n) => n.mode === 'bridged').length],
    ['private', c.bridged.filter((n) => n.mode === 'private').length],
    ['routed', c.routed.length],
  ] as const;
  const all = plural(c.networks.length + c.bridged.length + c.routed.length, 'network');
  const present = modes.filter(([, n]) => n > 0);
  if (c.bridged.length + c.routed.length === 0) return all;
  if (present.length === 1) return `${all} (${present[0]?.[0]})`;
  return `${all} (${present.map(([mode, n]) => `${n} ${mode}`).join(', ')})`;
}

/** "4 guests (8 NICs)": the NICs when a guest has more than one or the nodes only bridge some. */
function describeGuests(c: Cluster): string {
  const nics = c.guests.reduce((n, g) => n + g.nics.length, 0);
  const guests = plural(c.guests.length, 'guest');
  return nics === c.guests.length && c.bridged.length + c.routed.length === 0
    ? guests
    : `${guests} (${plural(nics, 'NIC')})`;
}

function describe(c: Cluster): string {
  const tags = c.nodes.map((n) => `${n.name}=${n.tag}${n.tagAllocated ? '*' : ''}`).join(' ');
  return (
    `cluster ${c.name}, ${plural(c.nodes.length, 'node')}, ${describeNetworks(c)}, ` +
    `${describeGuests(c)}, ${plural(c.forwards.length, 'forward')}\n` +
    `node tags: ${tags}${c.nodes.some((n) => n.tagAllocated) ? '  (* allocated: pin with "tag:" to keep them when nodes are removed)' : ''}` +
    describeTables(c) +
    (c.forwards.some((f) => f.strategy === 'stateless') ? describeMarks(c.marks) : '')
  );
}

/** "routing tables: public=500 internal=100*": an allocated table moves when networks before it go. */
function describeTables(c: Cluster): string {
  // Routed networks' tables, then the steering tables of networks inserting an appliance (seed 004).
  const all = [
    ...c.routed.map((n) => ({ name: n.name, table: n.table })),
    ...c.networks
      .flatMap((n) => (n.router?.insert ? [n.router.insert.table] : []))
      .map((t) => ({ name: t.name, table: t })),
  ];
  if (all.length === 0) return '';
  const tables = all.map((n) => `${n.name}=${n.table.id}${n.table.allocated ? '*' : ''}`).join(' ');
  const pin = all.some((n) => n.table.allocated)
    ? '  (* allocated: pin with "table:" to keep them when networks are removed or reordered)'
    : '';
  return `\nrouting tables: ${tables}${pin}`;
}

const FILES_HELP = `Files of a cluster node:
  ${FILES.nftables.padEnd(32)}the ruleset (nft -f)
  ${FILES.networkScript.padEnd(32)}NICs, bonds, VLANs, bridges, addresses, routes (sh, re-runnable)
  ${FILES.interfaces.padEnd(32)}the same for ifupdown (/etc/network/interfaces.d/)
  ${FILES.sysctl.padEnd(32)}forwarding, ARP announce (sysctl -p)
  ${FILES.modules.padEnd(32)}kernel modules at boot (br_netfilter for stateless)
  ${FILES.haproxy.padEnd(32)}HTTP reverse proxies, when the spec has proxies
  ${FILES.conntrackd.padEnd(32)}conntrackd, for strategy ctsync
  ${FILES.rtTables.padEnd(32)}routed networks' table names (/etc/iproute2/rt_tables.d/)
  ${FILES.rtProtos.padEnd(32)}the name of convergent's route protocol, 241 (/etc/iproute2/rt_protos.d/)
  ${RA_FILES.conf.padEnd(32)}routed networks' router advertisements, when they have subnet6 (ra.py)
  ${RA_FILES.unit.padEnd(32)}the unit running ra.py on ra.conf`;

/** The guests' NICs on routed networks: what nic up plugs with a route, proxy ARP and an announcement. */
const routedNics = (c: Cluster) =>
  c.guests.flatMap((g) => g.nics).filter((n) => c.routed.some((r) => r.name === n.network));
const inserting = (c: Cluster) => c.networks.some((n) => n.router?.insert !== undefined);
const forwardWith = (c: Cluster, strategy: Strategy) => c.forwards.some((f) => f.strategy === strategy);

/** The faults that change something in a cluster, and the test for each (faults.ts says what they need). */
const FAULT_TESTS: { readonly [F in Fault]?: (c: Cluster) => boolean } = {
  'stateless-after-conntrack': (c) => forwardWith(c, 'stateless'),
  'stateless-reply-port-kept': (c) =>
    c.forwards.some((f) => f.strategy === 'stateless' && f.toPort !== f.port),
  'fullnat-without-snat': (c) => forwardWith(c, 'fullnat'),
  'proxy-from-anycast': (c) => c.proxies.length > 0,
  'ctsync-bridge-netfilter': (c) => forwardWith(c, 'ctsync'),
  'anycast-arp-leak': (c) => c.networks.some((n) => n.pipes.length > 0),
  'no-antispoof': (c) =>
    c.guests.some((g) =>
      g.nics.some(
        (n) => n.mac !== undefined && n.spoof === 'drop' && c.bridged.some((b) => b.name === n.network),
      ),
    ),
  'private-forward-only': (c) =>
    c.guests.some((g) =>
      g.nics.some((n) => c.bridged.some((b) => b.name === n.network && b.macPrefix !== undefined)),
    ),
  'no-tap-proxy-arp': (c) => routedNics(c).length > 0,
  'no-arp-source': (c) => c.routed.length > 0,
  'keep-proxy-ndp': (c) => routedNics(c).some((n) => n.address6 !== undefined),
  'no-garp': (c) => routedNics(c).length > 0,
  'mark-everything': (c) => inserting(c),
  'no-notrack': (c) => inserting(c),
  'notrack-one-side': (c) => inserting(c),
  'transit-spoof': (c) =>
    c.guests.some((g) =>
      g.nics.some((n) => n.mac !== undefined && c.networks.some((x) => x.name === n.network && x.transit)),
    ),
  'no-ra': (c) =>
    routedNics(c).some((n) => c.routed.some((r) => r.name === n.network && r.subnet6 !== undefined)),
};

/** The uplink gateway, and an address beyond it: off every subnet the node has an address or a route in. */
function gatewayOf(c: Cluster, plan: HostPlan, dev: string): NonNullable<HealthPlan['gateway']> {
  const beyond = offLink([
    ...plan.addresses.map((a) => a.cidr),
    ...plan.routes.filter((r) => r.to !== 'default').map((r) => r.to),
  ]);
  return { address: formatIPv4(c.uplink.gateway), dev, ...(beyond ? { beyond } : {}) };
}

/** What a node checks by itself after an apply: its links, its uplink gateway, its peers on each network. */
function healthOf(c: Cluster, plan: HostPlan): HealthPlan {
  const node = c.nodes.find((n) => n.name === plan.node);
  const slaves = new Set(plan.links.flatMap((l) => (l.kind === 'bond' ? l.slaves : [])));
  const peers = c.networks
    .filter((n) => n.nodeAddresses.has(plan.node))
    .flatMap((n) =>
      [...n.nodeAddresses]
        .filter(([other]) => other !== plan.node)
        .map(([other, address]) => ({ node: other, address: formatIPv4(address), dev: n.bridge })),
    );
  return {
    ...(node ? { gateway: gatewayOf(c, plan, node.uplinkBridge) } : {}),
    peers,
    // A bond is up while one slave is: a dead slave is the bond's redundancy at work, not a failure.
    links: [
      ...plan.links.filter((l) => !slaves.has(l.name)).map((l) => l.name),
      ...plan.bridges.map((b) => b.name),
    ],
  };
}

const unknownHost = (c: Cluster, host: string, file: string) =>
  host === '' || c.nodes.some((n) => n.name === host)
    ? undefined
    : `no node "${host}" in ${file}; nodes: ${c.nodes.map((n) => n.name).join(', ')}`;

/** One node's desired state and health checks. */
function applyTarget(c: Cluster, node: string, file: string): ApplyTarget | HostRefusal {
  const compiled = compiler(c);
  const found = compiled.nodes.find((n) => n.name === node);
  if (found === undefined)
    return {
      refused: unknownHost(c, node, file) ?? '--node names no node',
      fix: 'give --node the name this host has in the spec',
    };
  const plan = compiled.compileNode(found);
  return { desired: nodeDesired(plan), health: healthOf(c, plan) };
}

/** The lab of a prepared cluster spec. */
function preparedLab(p: Prepared, flags: LabFlags): PreparedLab {
  const hosts = Object.fromEntries(p.topology.hosts.map((h) => [h.name, h.role]));
  return {
    label: `cluster ${p.cluster.name}`,
    first: p.cluster.nodes[0]?.name ?? 'workstation',
    topology: describeTopology(p.cluster, p.topology),
    // A cluster's modules count only on this kernel: the VM's kernel loads its own.
    needs: (vm) => ({
      needs: [...clusterNeeds(p.plans, vm), ...(flags.ssh ? sshNeeds() : [])],
      plans: vm ? [] : p.plans,
      devices: vm ? [] : [...clusterDevices(p.cluster).keys()],
    }),
    vm: () => ({ kind: 'cluster', file: p.file, plans: p.plans, name: p.cluster.name, hosts }),
    test: (progress) => labTest(p, { progress, cut: flags.cut }),
    up: async (progress) => {
      const { lab, run } = await labUp(p, { progress, ssh: flags.ssh });
      run.keep();
      return lab.state;
    },
  };
}

/** The lab `lab up` left running, as built: from the copy of its spec, with its faults. */
function running(state: ClusterLabState, faults: readonly Fault[]) {
  const p = prepare(join(labDir(state.id), SPEC_COPY), faults);
  return { lab: attach(state, p, realRunner), p };
}

export const clusterSystem: System<ClusterSpec, Cluster, ClusterLabState> = {
  kind: 'cluster',
  title: 'cluster',
  read,
  name: (c) => c.name,
  describe,
  unknownHost,
  render: (c, host) => {
    const compiled = compiler(c);
    const nodes = compiled.nodes.filter((n) => !host || n.name === host);
    return new Map(nodes.map((n) => [n.name, renderNode(compiled.compileNode(n))]));
  },
  filesHelp: FILES_HELP,
  faults: (c) => faultsWhere(FAULT_TESTS, c),
  applyTarget,
  lab: {
    flagProblem: (c, flags) => {
      if (flags.backend !== undefined) return '--backend goes with a CGNAT spec (kind: cgnat)';
      if (flags.cut !== undefined && !c.nodes.some((n) => n.name === flags.cut))
        return `no node "${flags.cut}" to cut; nodes: ${c.nodes.map((n) => n.name).join(', ')}`;
      return undefined;
    },
    prepare: (_c, file, faults, flags) => preparedLab(prepare(file, faults), flags),
    state: (record) => ({
      ...record,
      kind: 'cluster',
      uplinkMacs: (record as Partial<ClusterLabState>).uplinkMacs ?? {},
    }),
    detail: () => undefined,
    // conntrackd's control socket lives in the node's own /run (features/ctsync/lab.ts).
    execArgv: (state, host, ns, command) =>
      command[0] === 'conntrackd' && runsConntrackd(labDir(state.id), host)
        ? conntrackdArgv(labDir(state.id), ns, host, command.slice(1))
        : ['ip', 'netns', 'exec', ns, ...command],
    check: (state, faults, progress) => {
      const { lab, p } = running(state, faults);
      return runChecks(lab, p, progress);
    },
    apply: {
      apply: async (state, file, faults, progress) => {
        const { lab } = running(state, faults);
        const moves = await applyToLab(lab, prepare(file, faults), progress);
        return moves.length === 0 ? ['no guest moved'] : moves.map((m) => `${m.guest}: ${m.from} -> ${m.to}`);
      },
    },
  },
};
