// What only a gateway network has: the nodes forward and proxy their public ports to its guests,
// sync conntrack over its pipes, and are its guests' anycast "gateway". A guest whose first NIC is
// on a bridged, private or routed network is reached through its own router, never through the
// nodes' public addresses (a routed guest's address is public itself).
import type { SpecPath } from '../../../input/problem.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { ClusterSpec } from '../schema.ts';
import type { Report } from './common.ts';

export function checkGatewayGuests(spec: ClusterSpec, report: Report): void {
  const towards = (what: string, guest: string, path: SpecPath) => {
    const away = notOnGateway(spec, guest);
    if (away)
      report(
        path,
        `${what} to guest ${guest}, whose first NIC is on ${away.mode} network ${away.network}: the nodes ${what === 'proxy' ? 'proxy' : 'forward'} only to guests on gateway networks`,
        `lead it to a guest on a gateway network${gatewayNetwork(spec) ? ` (such as ${gatewayNetwork(spec)})` : ''}, or remove it: ${reachedBy(away)} reaches ${guest} from outside`,
      );
  };
  for (const [i, f] of spec.forwards.entries()) towards('forward', f.to, ['forwards', i, 'to']);
  for (const [i, x] of spec.proxies.entries()) towards('proxy', x.to, ['proxies', i, 'to']);
  (spec.checks ?? []).forEach((c, i) => {
    if (c.to !== 'gateway') return;
    const away = notOnGateway(spec, c.from);
    // A routed network's guests have a gateway too: the upstream router or the router node.
    if (away && away.mode !== 'routed')
      report(
        ['checks', i, 'to'],
        `"gateway" is the nodes' anycast gateway of a guest's gateway network, and guest ${c.from}'s first NIC is on ${away.mode} network ${away.network}`,
        away.mode !== 'private' && spec.networks[away.network]?.gateway !== undefined
          ? `ping its upstream router by address: to: ${formatIPv4(spec.networks[away.network]?.gateway as number)}`
          : 'check from a guest on a gateway network',
      );
  });
  const sync = spec.sync?.network;
  const syncNet = sync === undefined ? undefined : spec.networks[sync];
  if (syncNet && syncNet.mode !== 'gateway')
    report(
      ['sync', 'network'],
      `conntrackd syncs over a gateway network's pipes; network ${sync} is ${syncNet.mode}`,
      `name a gateway network${gatewayNetwork(spec) ? `: network: ${gatewayNetwork(spec)}` : ''}`,
    );
}

/** The network of a guest's first NIC when it is not a gateway network (undefined when it is, or unknown). */
export function notOnGateway(
  spec: ClusterSpec,
  guest: string,
): { network: string; mode: 'bridged' | 'private' | 'routed' } | undefined {
  const g = Object.hasOwn(spec.guests, guest) ? spec.guests[guest] : undefined;
  if (!g) return undefined;
  const names = Object.keys(spec.networks);
  const network = g.nics?.[0]?.network ?? g.network ?? (names.length === 1 ? names[0] : undefined);
  const mode = network === undefined ? undefined : spec.networks[network]?.mode;
  if (network === undefined || mode === undefined || mode === 'gateway') return undefined;
  return { network, mode };
}

/** What reaches a guest the nodes do not forward to: its upstream router, its routed address, or nothing. */
function reachedBy(away: { network: string; mode: 'bridged' | 'private' | 'routed' }): string {
  switch (away.mode) {
    case 'bridged':
      return `network ${away.network}'s upstream router`;
    case 'routed':
      return `its own address, routed by network ${away.network}'s gateway,`;
    case 'private':
      return 'nothing';
  }
}

function gatewayNetwork(spec: ClusterSpec): string | undefined {
  return Object.entries(spec.networks).find(([, n]) => n.mode === 'gateway')?.[0];
}
