// Semantic validation: the relations between objects that a schema cannot express. Every problem
// is collected (never just the first), each with the path it is about and how to fix it.

import type { Problem, SpecPath } from '../../input/problem.ts';
import { contains, formatIPv4, formatPrefix, isReserved, overlaps, type Prefix } from '../../util/ipv4.ts';
import { isMulticast } from '../../util/mac.ts';
import { checkHostNames, validateChecks } from './checks.ts';
import type { ClusterSpec } from './schema.ts';
import { allocateTags, MAX_TAG } from './tags.ts';

export function validate(spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: SpecPath, message: string, fix?: string, atKey = false) =>
    problems.push({ path, message, fix, atKey });
  const nodeNames = new Set(Object.keys(spec.nodes));

  const addressOwner = checkUplinkAndNodes(spec, report);
  checkTags(spec, report);
  checkNetworks(spec, nodeNames, addressOwner, report);
  checkGuests(spec, nodeNames, addressOwner, report);
  checkForwards(spec, nodeNames, report);
  checkProxies(spec, nodeNames, report);
  checkSync(spec, report);
  checkHostNames(spec, report);
  validateChecks(spec, report);
  return problems;
}

type Report = (path: SpecPath, message: string, fix?: string, atKey?: boolean) => void;

/** Who already uses an address, for "duplicate address" messages: "node node1 (uplink)". */
type AddressOwners = Map<number, string>;

function claim(owners: AddressOwners, address: number, who: string, path: SpecPath, report: Report): void {
  const previous = owners.get(address);
  if (previous !== undefined) {
    report(
      path,
      `address ${formatIPv4(address)} is already used by ${previous}`,
      'give every node, gateway and guest its own address',
    );
    return;
  }
  owners.set(address, who);
}

function checkInside(
  subnet: Prefix,
  subnetName: string,
  address: number,
  what: string,
  path: SpecPath,
  report: Report,
): boolean {
  if (!contains(subnet, address)) {
    report(
      path,
      `${what} ${formatIPv4(address)} is outside ${subnetName} (${formatPrefix(subnet)})`,
      `choose an address inside ${formatPrefix(subnet)}`,
    );
    return false;
  }
  if (isReserved(subnet, address)) {
    report(
      path,
      `${what} ${formatIPv4(address)} is the network or broadcast address of ${formatPrefix(subnet)}`,
      `choose a host address inside ${formatPrefix(subnet)}`,
    );
    return false;
  }
  return true;
}

function checkUplinkAndNodes(spec: ClusterSpec, report: Report): AddressOwners {
  const owners: AddressOwners = new Map();
  const uplink = spec.uplink.subnet;
  const gateway = spec.uplink.gateway;
  if (
    checkInside(uplink, 'the uplink subnet', gateway, 'the uplink gateway', ['uplink', 'gateway'], report)
  ) {
    owners.set(gateway, 'the uplink gateway');
  }
  for (const [name, node] of Object.entries(spec.nodes)) {
    const path = ['nodes', name, 'address'];
    const address = node.address;
    if (checkInside(uplink, 'the uplink subnet', address, `node ${name}'s public address`, path, report)) {
      claim(owners, address, `node ${name}`, path, report);
    }
    const ports = node.uplink?.ports ?? spec.uplink.ports;
    const bridge = node.uplink?.bridge ?? spec.uplink.bridge;
    if (ports.includes(bridge)) {
      report(
        ['nodes', name, 'uplink', 'ports'],
        `the uplink bridge ${bridge} cannot be its own port`,
        'list the physical interfaces under the bridge, e.g. [eth0]',
      );
    }
  }
  if (Object.keys(spec.nodes).length === 0) {
    report(['nodes'], 'the cluster has no nodes', 'add at least one node with its public address');
  }
  return owners;
}

function checkTags(spec: ClusterSpec, report: Report): void {
  const byTag = new Map<number, string>();
  for (const [name, node] of Object.entries(spec.nodes)) {
    if (node.tag === undefined) continue;
    const other = byTag.get(node.tag);
    if (other) {
      report(
        ['nodes', name, 'tag'],
        `node tag ${node.tag} is already used by node ${other}`,
        'give every node its own tag, or leave "tag" out to have one allocated',
      );
    } else byTag.set(node.tag, name);
  }
  const tags = allocateTags(Object.entries(spec.nodes).map(([name, n]) => ({ name, tag: n.tag })));
  const untagged = [...tags].filter(([, t]) => t === undefined).map(([n]) => n);
  if (untagged.length > 0) {
    report(
      ['nodes', untagged[0] as string],
      `the cluster has ${Object.keys(spec.nodes).length} nodes but node tags encode at most ${MAX_TAG} (one MAC octet); ` +
        `no tag is left for ${untagged.length === 1 ? 'node' : 'nodes'} ${untagged.slice(0, 3).join(', ')}${untagged.length > 3 ? ', …' : ''}`,
      `split the cluster, or remove nodes: at most ${MAX_TAG} nodes share one set of cluster pipes`,
      true,
    );
  }
}

function checkNetworks(
  spec: ClusterSpec,
  nodeNames: Set<string>,
  owners: AddressOwners,
  report: Report,
): void {
  const uplink = spec.uplink.subnet;
  const seenNets: [string, Prefix][] = [];
  const bridges = new Map<string, string>();
  const pipeUse = new Map<string, string>(); // "node/ifname" -> where
  for (const [name, network] of Object.entries(spec.networks)) {
    const base = ['networks', name];
    const subnet = network.subnet;
    if (overlaps(subnet, uplink)) {
      report(
        [...base, 'subnet'],
        `network ${name} (${formatPrefix(subnet)}) overlaps the uplink subnet (${formatPrefix(uplink)})`,
        'guest networks and the uplink must not overlap',
      );
    }
    for (const [other, otherNet] of seenNets) {
      if (overlaps(subnet, otherNet)) {
        report(
          [...base, 'subnet'],
          `network ${name} (${formatPrefix(subnet)}) overlaps network ${other} (${formatPrefix(otherNet)})`,
          'give each guest network its own subnet',
        );
      }
    }
    seenNets.push([name, subnet]);

    const otherBridge = bridges.get(network.bridge);
    if (otherBridge) {
      report(
        [...base, 'bridge'],
        `bridge ${network.bridge} is already the bridge of network ${otherBridge}`,
        'give each guest network its own bridge',
      );
    } else bridges.set(network.bridge, name);
    if (
      network.bridge === spec.uplink.bridge ||
      Object.values(spec.nodes).some((n) => n.uplink?.bridge === network.bridge)
    ) {
      report(
        [...base, 'bridge'],
        `bridge ${network.bridge} is also the uplink bridge`,
        'the guest bridge and the uplink bridge are two different bridges',
      );
    }

    const gateway = network.gateway;
    if (
      checkInside(subnet, `network ${name}`, gateway, 'the anycast gateway', [...base, 'gateway'], report)
    ) {
      claim(owners, gateway, `the anycast gateway of network ${name}`, [...base, 'gateway'], report);
    }
    for (const [node, address] of Object.entries(network.nodes)) {
      const path = [...base, 'nodes', node];
      if (!nodeNames.has(node)) {
        report(path, `unknown node "${node}"`, knownList('nodes', nodeNames), true);
        continue;
      }
      if (checkInside(subnet, `network ${name}`, address, `node ${node}'s address`, path, report)) {
        claim(owners, address, `node ${node} on network ${name}`, path, report);
      }
    }
    for (const node of nodeNames) {
      if (!(node in network.nodes)) {
        report(
          [...base, 'nodes'],
          `node ${node} has no address on network ${name}; every node is a gateway of every guest network`,
          `add "${node}: <address in ${formatPrefix(subnet)}>" under networks.${name}.nodes`,
        );
      }
    }
    checkPipes(spec, name, nodeNames, pipeUse, report);
  }
  if (Object.keys(spec.networks).length === 0) {
    report(
      ['networks'],
      'the cluster has no guest network',
      'add a network with its subnet, anycast gateway and node addresses',
    );
  }
}

function checkPipes(
  spec: ClusterSpec,
  netName: string,
  nodeNames: Set<string>,
  pipeUse: Map<string, string>,
  report: Report,
): void {
  const network = spec.networks[netName];
  if (!network) return;
  // Union-find over nodes: a pipe joining two already-connected nodes closes a loop.
  const parent = new Map<string, string>();
  const find = (n: string): string => {
    let root = n;
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root) as string;
    return root;
  };
  let loop: SpecPath | undefined;
  network.pipes.forEach((pipe, i) => {
    const path = ['networks', netName, 'pipes', i];
    const ends = Object.entries(pipe);
    if (ends.length !== 2) {
      report(
        path,
        `a pipe joins exactly two nodes, this one names ${ends.length}`,
        'write it as { node1: eth1.100, node2: eth1.100 }',
      );
      return;
    }
    let ok = true;
    for (const [node, ifname] of ends) {
      if (!nodeNames.has(node)) {
        report([...path, node], `unknown node "${node}"`, knownList('nodes', nodeNames), true);
        ok = false;
        continue;
      }
      const key = `${node}/${ifname}`;
      const used = pipeUse.get(key);
      if (used) {
        report(
          [...path, node],
          `interface ${ifname} on node ${node} is already ${used}`,
          'each pipe end is its own interface',
        );
        ok = false;
      } else pipeUse.set(key, `the pipe at networks.${netName}.pipes[${i}]`);
      const n = spec.nodes[node];
      const uplinkPorts = n?.uplink?.ports ?? spec.uplink.ports;
      const uplinkBridge = n?.uplink?.bridge ?? spec.uplink.bridge;
      if (
        uplinkPorts.includes(ifname) ||
        ifname === uplinkBridge ||
        Object.values(spec.networks).some((x) => x.bridge === ifname)
      ) {
        report(
          [...path, node],
          `interface ${ifname} on node ${node} is already a bridge or an uplink port`,
          'give the pipe its own interface',
        );
        ok = false;
      }
    }
    if (!ok) return;
    const [a, b] = ends.map(([node]) => node) as [string, string];
    if (a === b) return;
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) loop ??= path;
    else parent.set(ra, rb);
  });
  if (network.forwardDelay !== undefined && !network.stp)
    report(
      ['networks', netName, 'forwardDelay'],
      `forwardDelay applies to STP, which networks.${netName} does not run`,
      'set "stp: true", or remove "forwardDelay"',
    );
  if (loop && !network.stp) {
    report(
      loop,
      `the pipes of network ${netName} form a loop; without STP the guest bridge floods frames around it forever`,
      `set "stp: true" on networks.${netName}, or remove a pipe`,
    );
  }
  const nodes = [...nodeNames];
  if (nodes.length > 1) {
    const roots = new Set(nodes.map(find));
    if (roots.size > 1) {
      const first = find(nodes[0] as string);
      const cut = nodes.filter((n) => find(n) !== first);
      const [a, b] = [nodes[0] as string, cut[0] as string];
      report(
        ['networks', netName, 'pipes'],
        `the pipes of network ${netName} do not join node ${b} to node ${a}; guests behind one cannot be reached through the other`,
        `add a pipe such as { ${a}: ${freeInterface(spec, a)}, ${b}: ${freeInterface(spec, b)} }`,
      );
    }
  }
}

/** An interface name no pipe, uplink port or bridge of the node has yet: eth1.100, eth2.100, … */
function freeInterface(spec: ClusterSpec, node: string): string {
  const used = new Set<string>([
    ...(spec.nodes[node]?.uplink?.ports ?? spec.uplink.ports),
    spec.nodes[node]?.uplink?.bridge ?? spec.uplink.bridge,
  ]);
  for (const network of Object.values(spec.networks)) {
    used.add(network.bridge);
    for (const pipe of network.pipes) if (pipe[node] !== undefined) used.add(pipe[node]);
  }
  let i = 1;
  while (used.has(`eth${i}.100`)) i++;
  return `eth${i}.100`;
}

function checkGuests(spec: ClusterSpec, nodeNames: Set<string>, owners: AddressOwners, report: Report): void {
  const networkNames = new Set(Object.keys(spec.networks));
  const macs = new Map<string, string>();
  for (const [name, guest] of Object.entries(spec.guests)) {
    const base = ['guests', name];
    if (!nodeNames.has(guest.node))
      report(
        [...base, 'node'],
        `guest ${name} is on unknown node "${guest.node}"`,
        knownList('nodes', nodeNames),
      );
    let netName = guest.network;
    if (netName === undefined) {
      if (networkNames.size > 1) {
        report(
          base,
          `guest ${name} does not say which network it is on`,
          `add "network:" (one of ${[...networkNames].join(', ')})`,
        );
      }
      netName = [...networkNames][0];
    } else if (!networkNames.has(netName)) {
      report(
        [...base, 'network'],
        `guest ${name} is on unknown network "${netName}"`,
        knownList('networks', networkNames),
      );
      netName = undefined;
    }
    const address = guest.address;
    const network = netName === undefined ? undefined : spec.networks[netName];
    if (
      network &&
      checkInside(
        network.subnet,
        `network ${netName}`,
        address,
        `guest ${name}'s address`,
        [...base, 'address'],
        report,
      )
    ) {
      claim(owners, address, `guest ${name}`, [...base, 'address'], report);
    }
    if (guest.mac !== undefined) {
      const mac = guest.mac;
      const other = macs.get(mac);
      if (other)
        report(
          [...base, 'mac'],
          `MAC ${mac} is already guest ${other}'s`,
          'give every guest its own MAC address',
        );
      else macs.set(mac, name);
      if (isMulticast(mac))
        report(
          [...base, 'mac'],
          `MAC ${mac} is a multicast address`,
          'a guest MAC has the lowest bit of its first octet clear, e.g. 52:54:00:…',
        );
      if (mac.startsWith(`${spec.tagMacPrefix}:`)) {
        report(
          [...base, 'mac'],
          `MAC ${mac} starts with ${spec.tagMacPrefix}:, the prefix of the nodes' guest-bridge MACs; the pipes would take this guest for a node`,
          `choose another first octet, or set "tagMacPrefix" to an octet no guest uses`,
        );
      }
    }
  }
}

function checkForwards(spec: ClusterSpec, nodeNames: Set<string>, report: Report): void {
  const guestNames = new Set(Object.keys(spec.guests));
  // Public ports in use: by forwards on every node ("tcp/80"), and by node ("node1 tcp/80").
  // Kept apart so that 20,000 forwards on 200 nodes cost 20,000 lookups, not 4 million.
  const everywhere = new Map<string, number>();
  const onNode = new Map<string, number>();
  const anyNode = new Map<string, number>();
  const reverse = new Map<string, { port: number; index: number }>(); // stateless "guest tcp/22" -> public port
  spec.forwards.forEach((f, i) => {
    const base = ['forwards', i];
    if (!guestNames.has(f.to))
      report([...base, 'to'], `forward to unknown guest "${f.to}"`, knownList('guests', guestNames));
    (f.nodes ?? []).forEach((node, j) => {
      if (!nodeNames.has(node))
        report([...base, 'nodes', j], `forward on unknown node "${node}"`, knownList('nodes', nodeNames));
    });
    const port = `${f.proto}/${f.port}`;
    let clash = everywhere.get(port);
    if (f.nodes === undefined) {
      clash ??= anyNode.get(port);
      if (clash === undefined) everywhere.set(port, i);
    } else {
      for (const node of f.nodes) {
        clash ??= onNode.get(`${node} ${port}`);
        if (!onNode.has(`${node} ${port}`)) onNode.set(`${node} ${port}`, i);
      }
      if (!anyNode.has(port)) anyNode.set(port, i);
    }
    if (clash !== undefined) {
      report(
        [...base, 'port'],
        `${port} is already forwarded by forwards[${clash}] on ${f.nodes === undefined && everywhere.get(port) === clash ? 'the same nodes' : 'a node this forward also uses'}`,
        'use another public port, or split the nodes between the two forwards with "nodes:"',
      );
    }
    const strategy = f.strategy ?? spec.strategy;
    if (strategy === 'stateless') {
      // The hosting node rewrites the guest's reply back by (guest, proto, guest port) alone.
      const key = `${f.to} ${f.proto}/${f.toPort ?? f.port}`;
      const seen = reverse.get(key);
      if (seen && seen.port !== f.port) {
        report(
          [...base, 'port'],
          `stateless forwards[${seen.index}] and forwards[${i}] both lead to ${f.to} ${f.proto}/${f.toPort ?? f.port} from different public ports (${seen.port}, ${f.port}); a stateless reply cannot tell which one to answer from`,
          'use one public port for both, or "strategy: fullnat" for one of them',
        );
      } else if (!seen) reverse.set(key, { port: f.port, index: i });
    }
  });
}

function checkProxies(spec: ClusterSpec, nodeNames: Set<string>, report: Report): void {
  const guestNames = new Set(Object.keys(spec.guests));
  const all = Object.keys(spec.nodes);
  const taken = new Map<string, string>(); // "node1 tcp/8080" -> what has it
  spec.forwards.forEach((f, i) => {
    if (f.proto === 'tcp') for (const n of f.nodes ?? all) taken.set(`${n} ${f.port}`, `forwards[${i}]`);
  });
  spec.proxies.forEach((x, i) => {
    const base = ['proxies', i];
    if (!guestNames.has(x.to))
      report([...base, 'to'], `proxy to unknown guest "${x.to}"`, knownList('guests', guestNames));
    (x.nodes ?? []).forEach((node, j) => {
      if (!nodeNames.has(node))
        report([...base, 'nodes', j], `proxy on unknown node "${node}"`, knownList('nodes', nodeNames));
    });
    for (const n of x.nodes ?? all) {
      const other = taken.get(`${n} ${x.port}`);
      if (other) {
        report(
          [...base, 'port'],
          `tcp/${x.port} on node ${n} is already ${other}'s`,
          'give the proxy its own public port',
        );
        break;
      }
    }
    for (const n of x.nodes ?? all) taken.set(`${n} ${x.port}`, `proxies[${i}]`);
  });
}

/** Strategy ctsync: where conntrackd syncs, and what it cannot share a cluster with. */
function checkSync(spec: ClusterSpec, report: Report): void {
  const strategyPath = (i: number): SpecPath =>
    spec.forwards[i]?.strategy === undefined ? ['strategy'] : ['forwards', i, 'strategy'];
  const uses = (s: string) => spec.forwards.findIndex((f) => (f.strategy ?? spec.strategy) === s);
  const ctsync = uses('ctsync');
  if (ctsync < 0) {
    if (spec.sync)
      report(
        ['sync'],
        'sync configures conntrackd for strategy ctsync, which no forward uses',
        'remove "sync", or set "strategy: ctsync"',
        true,
      );
    return;
  }
  const stateless = uses('stateless');
  if (stateless >= 0) {
    report(
      // Point at the forward that chose its own strategy, the odd one out.
      strategyPath(
        [stateless, ctsync].filter((i) => spec.forwards[i]?.strategy !== undefined).at(-1) ??
          Math.max(stateless, ctsync),
      ),
      'strategies stateless and ctsync cannot share a cluster: stateless needs conntrack on frames bridged to the guests (br_netfilter on), ctsync needs it off, or the bridged copy of a synced flow clashes with the replicated entry',
      'use fullnat or ctsync for this forward, or stateless for all of them',
    );
  }
  const networks = Object.keys(spec.networks);
  const network = spec.sync?.network ?? (networks.length === 1 ? networks[0] : undefined);
  if (network === undefined) {
    report(
      spec.sync ? ['sync'] : strategyPath(ctsync),
      `strategy ctsync replicates conntrack state over one guest network's pipes, and there are ${networks.length === 0 ? 'none' : `several (${networks.join(', ')})`}`,
      networks.length === 0 ? 'add a guest network' : 'name it: sync: { network: <name> }',
      spec.sync !== undefined,
    );
  } else if (!(network in spec.networks)) {
    report(['sync', 'network'], `unknown network "${network}"`, knownList('networks', new Set(networks)));
  }
  const nodes = Object.keys(spec.nodes).length;
  if (spec.sync?.mode === 'ftfw' && nodes > 2) {
    report(
      ['sync', 'mode'],
      `conntrackd FTFW keeps one sequence number per receiver, not per sender: with ${nodes} nodes on one group each node drops the updates of all senders but one as "delayed"`,
      'use "mode: notrack" (the default for more than two nodes), or leave "mode" out',
    );
  }
  const group = spec.sync?.group;
  if (group !== undefined) {
    if (group >>> 28 !== 0xe || group >>> 8 === 0xe00000) {
      report(
        ['sync', 'group'],
        `${formatIPv4(group)} is not a multicast group conntrackd can use`,
        'use an address in 224.0.0.0/4 outside 224.0.0.0/24, such as 225.0.0.50',
      );
    }
  }
}

function knownList(what: string, names: Set<string>): string {
  if (names.size === 0) return `there are no ${what} defined yet`;
  const list = [...names].slice(0, 8).join(', ');
  return `known ${what}: ${list}${names.size > 8 ? ', …' : ''}`;
}
