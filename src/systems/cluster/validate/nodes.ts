// The uplink and the nodes: public addresses inside the uplink subnet, bridges, tags.
import type { ClusterSpec } from '../schema.ts';
import { allocateTags, MAX_TAG } from '../tags.ts';
import { type AddressOwners, checkInside, claim, type Report } from './common.ts';

export function checkUplinkAndNodes(spec: ClusterSpec, report: Report): AddressOwners {
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

export function checkTags(spec: ClusterSpec, report: Report): void {
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
