// The pipes of one guest network: two ends each, on interfaces of their own, joining every node,
// and a loop only with STP.
import type { SpecPath } from '../../../input/problem.ts';
import type { ClusterSpec } from '../schema.ts';
import { knownList, type Report } from './common.ts';

export function checkPipes(
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
    const ok = checkEnds(spec, netName, i, ends, nodeNames, pipeUse, report);
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
  checkJoined(spec, netName, [...nodeNames], find, report);
}

/** Each end on a known node, on an interface no other pipe end, bridge or uplink port has. */
function checkEnds(
  spec: ClusterSpec,
  netName: string,
  i: number,
  ends: [string, string][],
  nodeNames: Set<string>,
  pipeUse: Map<string, string>,
  report: Report,
): boolean {
  const path = ['networks', netName, 'pipes', i];
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
  return ok;
}

/** One segment: every node reached from the first through the pipes (`find`: a node's component). */
function checkJoined(
  spec: ClusterSpec,
  netName: string,
  nodes: string[],
  find: (node: string) => string,
  report: Report,
): void {
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
    if (network.bridge !== undefined) used.add(network.bridge);
    for (const pipe of network.pipes) if (pipe[node] !== undefined) used.add(pipe[node]);
  }
  let i = 1;
  while (used.has(`eth${i}.100`)) i++;
  return `eth${i}.100`;
}
