// What bench/routed.bench.ts checks before it measures, on each lab: that the connections take the
// routed path (the node's route for the server is its /32 to the tap in table 500, the replies' is the
// table's default via the upstream router), that the upstream reaches the server through the node's
// proxy ARP (its neighbour entry is the node's trunk MAC), and that anti-spoofing is on the replies'
// path (a ping from the server with another guest's address goes nowhere). It stops the bench if not.
import { inNs, tapOf } from './ports-lab.ts';
import type { Built } from './routed.bench.ts';
import { routeOf } from './routed-fib.ts';
import { UPSTREAM } from './routed-lab.ts';
import { addressOf, CLIENT_NET, SERVER_GUEST, TABLE, TRUNK } from './routed-spec.ts';
import { pingFromServer } from './routed-traffic.ts';

export interface Checked {
  readonly label: string;
  readonly inbound: string;
  readonly outbound: string;
  readonly neighbour: string;
  readonly trunkMac: string;
  readonly spoofed: boolean;
}

function check(b: Built): Checked {
  const { lab } = b;
  const own = pingFromServer(lab, CLIENT_NET.client);
  if (!own) throw new Error(`${b.label}: the server guest cannot ping the client ${CLIENT_NET.client}`);
  // Another guest's address (the first of the others: p's): the tap's anti-spoofing drops it.
  const spoofed = pingFromServer(lab, CLIENT_NET.client, addressOf(1));
  const inbound = routeOf(lab, SERVER_GUEST.address, CLIENT_NET.client, TRUNK);
  const outbound = routeOf(lab, CLIENT_NET.client, SERVER_GUEST.address, tapOf(SERVER_GUEST.name));
  const [link] = JSON.parse(inNs(lab.node, ['ip', '-j', 'link', 'show', TRUNK])) as { address: string }[];
  const trunkMac = link?.address ?? '?';
  const neighbour =
    /lladdr (\S+)/.exec(inNs(lab.ns(UPSTREAM), ['ip', 'neigh', 'show', SERVER_GUEST.address]))?.[1] ?? 'none';
  const wrong = [
    !inbound.includes(`dev ${tapOf(SERVER_GUEST.name)} table ${TABLE}`) && `inbound route "${inbound}"`,
    !outbound.includes(`dev ${TRUNK} table ${TABLE}`) && `outbound route "${outbound}"`,
    neighbour !== trunkMac && `upstream's neighbour entry ${neighbour}, the node's trunk is ${trunkMac}`,
    spoofed && 'a ping with a spoofed source got through',
  ].filter((w) => w !== false);
  if (wrong.length > 0) throw new Error(`${b.label}: not the routed path: ${wrong.join('; ')}`);
  return { label: b.label, inbound, outbound, neighbour, trunkMac, spoofed };
}

export const routedChecks = (built: readonly Built[]) => built.map(check);
