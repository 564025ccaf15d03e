// Seed 004's steering tables and rules: a table rt_tables can name that no routed network and no
// other inserting network has, and what fits the rules' preferences (features/router/steering.ts):
// ten per inserting network from 2000, of which eight for the router's networks never steered.
import { INSERT_RULES } from '../features/router/steering.ts';
import { allocateTables, FIRST_TABLE, RESERVED_TABLES } from '../resolve-routed.ts';
import type { ClusterSpec, NetworkSpec } from '../schema.ts';
import type { Report } from './common.ts';

/** Ten rule preferences each from 2000: 100 inserting networks fill 2000-2999. */
const MAX_INSERTING = 1000 / INSERT_RULES.per;
/** Rules +0..+7 of an inserting network: "to <subnet> lookup main", one per network never steered. */
const MAX_EXCLUDED = INSERT_RULES.egress;

export function checkInsertTables(spec: ClusterSpec, report: Report): void {
  const gateway = Object.entries(spec.networks).filter(([, n]) => n.mode === 'gateway');
  const inserting = gateway.filter(([, n]) => n.router !== undefined && n.insert !== undefined);
  const [over] = inserting.slice(MAX_INSERTING);
  if (over)
    report(
      ['networks', over[0], 'insert'],
      `network ${over[0]} is inserting network ${MAX_INSERTING + 1}: a cluster holds at most ${MAX_INSERTING} (their policy rules take preferences 2000-2999, ten each)`,
      `insert the appliance on fewer, larger networks`,
    );
  const routed = Object.entries(spec.networks).filter(([, n]) => n.mode === 'routed');
  const owners = new Map<number, string>();
  for (const [name, t] of allocateTables(routed)) owners.set(t.id, `routed network ${name}'s`);
  const free = () => {
    let id = FIRST_TABLE;
    while (owners.has(id) || RESERVED_TABLES.has(id)) id++;
    return id;
  };
  for (const [name, net] of inserting) {
    checkExcluded(spec, name, net, report);
    if (net.table === undefined) continue;
    const path = ['networks', name, 'table'];
    const reserved = RESERVED_TABLES.get(net.table);
    const owner = owners.get(net.table);
    if (reserved !== undefined)
      report(path, `table ${net.table} is iproute2's ${reserved} table`, `write table: ${free()}`);
    else if (owner !== undefined)
      report(
        path,
        `table ${net.table} is already ${owner} table: network ${name}'s steering would route into it`,
        `write table: ${free()}`,
      );
    else owners.set(net.table, `network ${name}'s steering`);
  }
}

/**
 * Every subnet the router node routes itself (anycast and routed networks, its own networks but the
 * transit ones, the inserting network's for the hairpin): each a rule before the steering (F37).
 */
function checkExcluded(spec: ClusterSpec, name: string, net: NetworkSpec, report: Report) {
  const excluded = Object.values(spec.networks).filter(
    (x) =>
      x.mode === 'routed' ||
      (x.mode === 'gateway' && (x.router === undefined || x.router === net.router) && !x.transit),
  );
  if (excluded.length <= MAX_EXCLUDED) return;
  report(
    ['networks', name, 'insert'],
    `node ${net.router} routes ${excluded.length} subnets itself besides transit ones (${name}'s included: anycast, routed and its routered networks), each routed directly, around network ${name}'s appliance, by a rule of its own, and ${MAX_EXCLUDED} fit before the steering rules`,
    `route at most ${MAX_EXCLUDED} such networks on ${net.router} (give some a router of their own, or make them bridged)`,
  );
}
