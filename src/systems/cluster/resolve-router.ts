// Resolving seed 004's routers: a gateway network's router node, the address its subnet leaves as,
// the appliance it inserts with its steering table, and the guests' floating IPs.
import { specNics } from './check-fields.ts';
import type { Floating, Guest, Insertion, Network, Router } from './model.ts';
import { allocateTables } from './resolve-routed.ts';
import type { ClusterSpec, NetworkSpec } from './schema.ts';

/** The router of each gateway network that has one, by network name. */
export function resolveRouters(spec: ClusterSpec, taken: ReadonlySet<number>): Map<string, Router> {
  const gateway = Object.entries(spec.networks).filter(([, n]) => n.mode === 'gateway');
  const tables = insertTables(gateway, taken);
  const out = new Map<string, Router>();
  for (const [name, net] of gateway) {
    if (net.router === undefined) continue;
    const node = spec.nodes[net.router];
    if (node === undefined) continue;
    const table = tables.get(name);
    out.set(name, {
      node: net.router,
      snat: net.snat ?? node.address,
      insert: table === undefined ? undefined : insertion(spec, net, { ...table, name: `${name}-insert` }),
    });
  }
  return out;
}

function insertion(spec: ClusterSpec, net: NetworkSpec, table: Insertion['table']): Insertion | undefined {
  const appliance = net.insert as string;
  const nic = specNics(spec, appliance).find(
    (n) => n.network !== undefined && spec.networks[n.network]?.transit === true,
  );
  if (nic?.network === undefined || nic.address === undefined) return undefined;
  return { appliance, transit: nic.network, address: nic.address, table };
}

/** The inserting networks' steering tables: pinned ones kept, the others the lowest free, in order. */
function insertTables(
  entries: [string, NetworkSpec][],
  taken: ReadonlySet<number>,
): Map<string, { id: number; allocated: boolean }> {
  const inserting = entries.filter(([, n]) => n.router !== undefined && n.insert !== undefined);
  return allocateTables(inserting, (net) => net.table, taken);
}

/** Every NIC's floating IP with the router that NATs it. */
export function resolveFloating(guests: readonly Guest[], networks: readonly Network[]): Floating[] {
  const byName = new Map(networks.map((n) => [n.name, n]));
  return guests.flatMap((g) =>
    g.nics.flatMap((nic): Floating[] => {
      const router = byName.get(nic.network)?.router;
      if (nic.floating === undefined || nic.address === undefined || router === undefined) return [];
      const path = g.nics.length > 1 || nic.index > 0 ? [...nic.path, 'floating'] : [...g.path, 'floating'];
      return [
        {
          address: nic.floating,
          guest: g.name,
          nic: nic.index,
          to: nic.address,
          network: nic.network,
          node: router.node,
          path,
        },
      ];
    }),
  );
}
