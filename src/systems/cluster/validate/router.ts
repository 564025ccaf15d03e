// Seed 004: a gateway network's router node (its gateway and NAT on one node, not anycast), the
// address its subnet leaves as, the guests' floating IPs, the appliance it inserts (F34) and the
// transit network that appliance sits in (F38). Fields of routers on other modes are refused here.
import type { SpecPath } from '../../../input/problem.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { specNics } from '../check-fields.ts';
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import { type AddressOwners, checkInside, claim, knownList, type Report } from './common.ts';
import { checkInsertTables } from './router-tables.ts';

const ROUTER_ONLY = ['snat', 'insert'] as const;

/** Every gateway network's router fields; `owners` gains the SNAT and floating addresses. */
export function checkRouters(spec: ClusterSpec, owners: AddressOwners, report: Report): void {
  const nodes = new Set(Object.keys(spec.nodes));
  // A router's networks may share its SNAT address (Neutron's qrouter gives all its subnets one
  // external address); against anything else, another router's included, it is claimed as usual.
  const snatRouter = new Map<number, string>();
  for (const [name, net] of Object.entries(spec.networks)) {
    const base = ['networks', name];
    const written = (fields: readonly (keyof NetworkSpec)[]) =>
      fields.filter((f) => (f === 'transit' ? net.transit : net[f] !== undefined));
    if (net.mode !== 'gateway') {
      for (const field of written([...ROUTER_ONLY, 'transit']))
        report(
          [...base, field],
          `"${field}" belongs to gateway networks with a router; network ${name} is ${net.mode}`,
          `remove "${field}:"`,
          true,
        );
      continue;
    }
    if (net.router === undefined) {
      for (const field of written([...ROUTER_ONLY, 'transit', 'table']))
        report(
          [...base, field],
          `"${field}" needs "router:" on network ${name}: only a network routed by one node has an external address, an appliance or a transit role`,
          'add "router: <node>" (the node holding the gateway and the NAT), or remove it',
          true,
        );
      continue;
    }
    if (!nodes.has(net.router)) {
      report([...base, 'router'], `unknown node "${net.router}"`, knownList('nodes', nodes));
      continue;
    }
    if (spec.sync !== undefined && spec.sync.network === name)
      report(
        ['sync', 'network'],
        `conntrackd needs every node's address on its network, and network ${name} has ${net.router}'s alone (its router)`,
        'sync over a network without "router:"',
      );
    const ownAlready = net.snat !== undefined && snatRouter.get(net.snat) === net.router;
    if (
      net.snat !== undefined &&
      !ownAlready &&
      checkInside(
        spec.uplink.subnet,
        'the uplink subnet',
        net.snat,
        `the SNAT address of network ${name}`,
        [...base, 'snat'],
        report,
      )
    ) {
      claim(owners, net.snat, `the SNAT address of network ${name}`, [...base, 'snat'], report);
      snatRouter.set(net.snat, net.router);
    }
    if (net.table !== undefined && net.insert === undefined)
      report(
        [...base, 'table'],
        `"table" on network ${name} is the steering table of an appliance, and it inserts none`,
        'remove "table:", or add "insert: <appliance guest>"',
        true,
      );
    if (net.insert !== undefined) checkInsert(spec, name, net, report);
  }
  checkFloating(spec, owners, report);
  checkEntries(spec, report);
  checkInsertTables(spec, report);
}

/** A routed network's guests are reached from outside through its router only: the NAT is there. */
function checkEntries(spec: ClusterSpec, report: Report): void {
  const entries = [
    ...spec.forwards.map((f, i) => ({ what: 'forward', to: f.to, nodes: f.nodes, path: ['forwards', i] })),
    ...spec.proxies.map((x, i) => ({ what: 'proxy', to: x.to, nodes: x.nodes, path: ['proxies', i] })),
  ];
  for (const e of entries) {
    const network = specNics(spec, e.to)[0]?.network;
    const router = network === undefined ? undefined : spec.networks[network]?.router;
    // An unknown router is its own problem, reported once at "router:".
    if (router === undefined || !Object.hasOwn(spec.nodes, router)) continue;
    if (spec.networks[network as string]?.mode !== 'gateway') continue;
    if (e.nodes === undefined || e.nodes.some((n) => n !== router))
      report(
        e.nodes === undefined ? e.path : [...e.path, 'nodes'],
        `${e.what} to guest ${e.to} on network ${network}, which is routed by ${router} alone: another node has no NAT state for it`,
        `write nodes: [${router}]`,
      );
  }
}

/** The appliance: a guest with a NIC on a transit network of the same router, not in this network. */
function checkInsert(spec: ClusterSpec, name: string, net: NetworkSpec, report: Report): void {
  const path = ['networks', name, 'insert'];
  const appliance = net.insert as string;
  if (net.transit) {
    report(
      path,
      `network ${name} is a transit network: it carries an appliance, it cannot insert one`,
      'insert the appliance on the tenant network it guards',
    );
    return;
  }
  const guest = Object.hasOwn(spec.guests, appliance) ? spec.guests[appliance] : undefined;
  if (!guest) {
    report(path, `unknown guest "${appliance}"`, knownList('guests', new Set(Object.keys(spec.guests))));
    return;
  }
  const nics = specNics(spec, appliance);
  const transit = nics.find((n) => n.network !== undefined && spec.networks[n.network]?.transit === true);
  if (!transit) {
    report(
      path,
      `the appliance ${appliance} has no NIC on a transit network`,
      `put a NIC of ${appliance} on a network with "transit: true" and "router: ${net.router}"`,
    );
    return;
  }
  const tnet = spec.networks[transit.network as string] as NetworkSpec;
  if (tnet.router !== net.router)
    report(
      path,
      `the appliance ${appliance} sits in transit network ${transit.network}, routed by ${tnet.router ?? 'every node'}, and network ${name} is routed by ${net.router}`,
      `give transit network ${transit.network} "router: ${net.router}": the appliance returns traffic by its default route, to the router that sent it`,
    );
  if (transit.address === undefined)
    report(
      path,
      `the appliance ${appliance} has no address on transit network ${transit.network}: the router needs it as its next hop`,
      `add "address:" to ${appliance}'s NIC on ${transit.network}`,
    );
  if (nics.some((n) => n.network === name))
    report(
      path,
      `the appliance ${appliance} has a NIC on network ${name} itself: its traffic would be steered into itself`,
      `put ${appliance} on transit network ${transit.network} only (and a management network)`,
    );
}

/** Floating IPs: on the uplink, each its own, for a NIC whose network has a router to NAT it. */
function checkFloating(spec: ClusterSpec, owners: AddressOwners, report: Report): void {
  for (const [gname, g] of Object.entries(spec.guests)) {
    const nics: { network?: string; floating?: number; path: SpecPath }[] = g.nics
      ? g.nics.map((n, i) => ({
          network: n.network,
          floating: n.floating,
          path: ['guests', gname, 'nics', i, 'floating'],
        }))
      : [{ network: g.network, floating: g.floating, path: ['guests', gname, 'floating'] }];
    if (g.nics && g.floating !== undefined)
      report(
        ['guests', gname, 'floating'],
        `guest ${gname} lists its NICs: a floating IP belongs to one of them`,
        'move "floating:" into the NIC it reaches',
        true,
      );
    for (const nic of nics) {
      if (nic.floating === undefined) continue;
      const network = nic.network ?? specNics(spec, gname)[0]?.network;
      const net = network === undefined ? undefined : spec.networks[network];
      if (!net) continue; // the NIC's own problem, reported by guests.ts
      if (net.mode !== 'gateway' || net.router === undefined) {
        report(
          nic.path,
          `floating IP ${formatIPv4(nic.floating)} on network ${network}, which has no router to NAT it`,
          `give network ${network} "router: <node>" (seed 004's tenant router), or remove "floating:"`,
        );
        continue;
      }
      if (
        checkInside(
          spec.uplink.subnet,
          'the uplink subnet',
          nic.floating,
          'the floating IP',
          nic.path,
          report,
        )
      )
        claim(owners, nic.floating, `the floating IP of guest ${gname}`, nic.path, report);
    }
  }
}
