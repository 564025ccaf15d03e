// Routes: convergent's (proto 241) compared with the plan's by what the kernel keys a route on
// (family, table, type, destination, metric). Routes of addresses (proto kernel), `nic up`'s tap
// routes (proto static) and everyone else's are never read here, so never changed.
import type { RoutePlan } from '../../host/plan.ts';
import { CONVERGENT_PROTO, MAIN_TABLE, routeCommand } from '../../host/routing.ts';
import type { Change } from '../change.ts';
import { adoptedOf } from './adopted.ts';
import { change, deleteQuietly } from './commands.ts';
import { addressText, type LiveRoute, routeDst } from './read.ts';

/** The plan's route as read.ts reads one. */
export function liveOf(r: RoutePlan): LiveRoute {
  const family = r.family === 6 || r.to.includes(':') || r.via?.includes(':') ? 6 : 4;
  const type = r.type ?? 'unicast';
  return {
    family,
    table: r.table ?? MAIN_TABLE,
    type,
    dst: routeDst(r.to, family),
    ...(r.via === undefined ? {} : { gateway: addressText(r.via) }),
    ...(r.dev === undefined || type === 'unreachable' ? {} : { dev: r.dev }),
    metric: r.metric ?? (family === 6 ? 1024 : 0),
  };
}

export const routeKey = (r: LiveRoute) => `${r.family} ${r.table} ${r.type} ${r.dst} ${r.metric}`;

/** "route 10.0.0.0/24 table 500", "route unreachable default table 500 (IPv6)". */
export function routeWhat(r: LiveRoute): string {
  const type = r.type === 'unicast' ? '' : `${r.type} `;
  const table = r.table === MAIN_TABLE ? '' : ` table ${r.table}`;
  const metric = r.metric === 0 || (r.family === 6 && r.metric === 1024) ? '' : ` metric ${r.metric}`;
  return `route ${type}${r.dst}${metric}${table}${r.family === 6 && r.dst === 'default' ? ' (IPv6)' : ''}`;
}

/** How the live route differs from the plan's ("via 10.0.0.1 -> 10.0.0.2"), or '' when it does not. */
function differs(live: LiveRoute, want: LiveRoute): string {
  const out: string[] = [];
  if (live.gateway !== want.gateway)
    out.push(`via ${live.gateway ?? '(none)'} -> ${want.gateway ?? '(none)'}`);
  // A route without a device in the plan takes the one the kernel finds for its gateway.
  if (want.dev !== undefined && live.dev !== want.dev) out.push(`dev ${live.dev ?? '(none)'} -> ${want.dev}`);
  return out.join(', ');
}

/**
 * `readdressed`: devices whose addresses change in this apply (addresses.ts): the kernel drops their
 * routes through the subnet with its primary address, so their routes are replaced again after it.
 */
export function routeChanges(
  live: readonly LiveRoute[],
  desired: readonly RoutePlan[],
  readdressed: ReadonlySet<string> = new Set(),
): Change[] {
  const byKey = new Map(live.map((r) => [routeKey(r), r]));
  const wanted = new Set<string>();
  const out: Change[] = [];
  for (const plan of desired) {
    const want = liveOf(plan);
    wanted.add(routeKey(want));
    const have = byKey.get(routeKey(want));
    const protocol = adoptedOf(plan).protocol;
    if (protocol !== undefined) {
      // A checkpoint's route of another protocol that the apply made ours: given back, or left alone.
      if (have !== undefined)
        out.push(
          change('routes', 'change', routeWhat(want), [{ argv: protoArgv(plan, protocol) }], {
            detail: `proto ${CONVERGENT_PROTO} -> ${protocol}`,
            source: plan.source,
          }),
        );
      continue;
    }
    let detail = have === undefined ? undefined : differs(have, want);
    if (detail === '' && have?.dev !== undefined && readdressed.has(have.dev))
      detail = `again: the addresses of ${have.dev} change`;
    if (detail === '') continue;
    const argv = routeCommand(plan).split(' ');
    out.push(
      change('routes', have ? 'change' : 'add', routeWhat(want), [{ argv }], { detail, source: plan.source }),
    );
  }
  for (const r of live)
    if (!wanted.has(routeKey(r)))
      out.push(change('routes', 'delete', routeWhat(r), [deleteQuietly(deleteArgv(r))]));
  return out;
}

function protoArgv(plan: RoutePlan, protocol: number): string[] {
  const argv = routeCommand(plan).split(' ');
  argv[argv.length - 1] = String(protocol);
  return argv;
}

function deleteArgv(r: LiveRoute): string[] {
  const argv = ['ip', `-${r.family}`, 'route', 'del'];
  if (r.type !== 'unicast') argv.push(r.type);
  argv.push(r.dst, 'metric', String(r.metric), 'table', String(r.table), 'proto', String(CONVERGENT_PROTO));
  return argv;
}
