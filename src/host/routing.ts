// Routes, policy rules and routing tables as `ip` commands, the same in network.sh and in ifupdown's
// post-up lines, and the rt_tables.d file that names the tables. The commands use the tables'
// numbers, never their names: they run before rt_tables.d is installed, and on a host without it.
// Every route and rule carries convergent's protocol number and every link it makes its alias: what
// `apply` counts as its own (all else on the host is someone else's, never touched).
import type { RoutePlan, RoutingTablePlan, RulePlan } from './plan.ts';

/** `ip route replace ...`: adds the route, or changes the one with the same destination and metric. */
export function routeCommand(r: RoutePlan): string {
  const parts = [r.family === 6 ? 'ip -6 route replace' : 'ip route replace'];
  if (r.type !== undefined) parts.push(r.type);
  parts.push(r.to);
  if (r.via !== undefined) parts.push('via', r.via);
  if (r.dev !== undefined) parts.push('dev', r.dev);
  if (r.metric !== undefined) parts.push('metric', String(r.metric));
  if (r.table !== undefined) parts.push('table', String(r.table));
  parts.push('proto', String(CONVERGENT_PROTO));
  return parts.join(' ');
}

/**
 * The rule, idempotently: whatever holds its preference is deleted (every rule of it: a loop), then
 * the rule is added. `ip rule add` alone would add a duplicate on each run.
 */
export function ruleCommand(r: RulePlan): string {
  return `${ruleDeleteCommand(r.family, r.pref)}; ${ruleAddCommand(r)}`;
}

/** `ip rule add` of the rule alone, with convergent's protocol. */
export function ruleAddCommand(r: RulePlan): string {
  const to = r.to === undefined ? '' : ` to ${r.to}`;
  // "main" is iproute2's own name (no rt_tables.d needed), and says what the rule is for.
  const table = r.table === MAIN_TABLE ? 'main' : String(r.table);
  return `ip -${r.family} rule add pref ${r.pref} ${r.match.kind} ${r.match.value}${to} lookup ${table} protocol ${CONVERGENT_PROTO}`;
}

/** Every rule holding the preference (a number, or a shell variable) deleted; succeeds when there is none. */
export function ruleDeleteCommand(family: 4 | 6, pref: number | string): string {
  return `while ip -${family} rule del pref ${pref} 2>/dev/null; do :; done`;
}

/** `ip route del ...` of the route, succeeding when it is gone already. */
export function routeDeleteCommand(r: RoutePlan): string {
  return `${routeCommand(r).replace(' route replace ', ' route del ')} 2>/dev/null || true`;
}

/** The routing protocol number of convergent's routes and rules (rt_protos.d names it). */
export const CONVERGENT_PROTO = 241;
export const CONVERGENT_PROTO_NAME = 'convergent';

/** A link convergent made (bond, VLAN, bridge) says so in its alias; taps' ("convergent m=...") differ. */
export const LINK_ALIAS_PREFIX = 'convergent: ';

/** "convergent: networks.guestnet": the spec path of the link's source, without its note. */
export function linkAlias(source: string): string {
  return `${LINK_ALIAS_PREFIX}${source.split(' ')[0]}`;
}

/** rt_protos.d/convergent.conf: `ip route` and `ip rule` show convergent's protocol by name. */
export function renderRtProtos(header: readonly string[]): string {
  return `${[...header.map((h) => `# ${h}`), `${CONVERGENT_PROTO} ${CONVERGENT_PROTO_NAME}`].join('\n')}\n`;
}

/** iproute2's main table. */
export const MAIN_TABLE = 254;

/** Preferences of convergent's rules: routed networks' from here (ten each, 1000-1999)... */
export const ROUTED_RULE_PREF = 1000;
/** ... and inserting networks' steering (seed 004) from here (ten each, 2000-2999). */
export const INSERT_RULE_PREF = 2000;

/** "500 public": what a line of the table's rt_tables.d file says, for comments. */
export const tableLine = (t: RoutingTablePlan) => `${t.id} ${t.name}`;

/** rt_tables.d/convergent.conf: a name per table, so `ip rule` and `ip route show table NAME` speak names. */
export function renderRtTables(tables: readonly RoutingTablePlan[], header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  for (const t of tables) out.push(`# ${t.source}`, tableLine(t));
  return `${out.join('\n')}\n`;
}
