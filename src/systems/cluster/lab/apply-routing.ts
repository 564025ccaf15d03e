// `lab apply` of what a network's insertion changes besides the ruleset (F34): the policy rules, the
// steering table's routes and the sysctls (the transit bridge's rp_filter), diffed node by node
// between the running lab's plans and the new spec's, and changed in place as an operator's
// `ifreload` or network.sh run would: rules that went away deleted by preference, new ones added,
// table routes replaced or deleted, changed sysctls written. The main table and addresses are left
// alone (an insertion changes neither).

import type { HostPlan, RoutePlan, RulePlan } from '../../../host/plan.ts';
import { routeCommand, ruleCommand } from '../../../host/routing.ts';
import { runChecked } from '../../../lab/run.ts';
import type { LabInstance } from './build.ts';

const ruleKey = (r: RulePlan) => `${r.family} ${r.pref} ${ruleCommand(r)}`;
const routeKey = (r: RoutePlan) => routeCommand(r);
const tableRoutes = (p: HostPlan) => p.routes.filter((r) => r.table !== undefined);

/** Deletes exactly that route (a table's unreachable default beside its via default: by type and metric). */
function routeDelete(r: RoutePlan): string {
  const parts = [r.family === 6 ? 'ip -6 route del' : 'ip route del'];
  if (r.type !== undefined) parts.push(r.type);
  parts.push(r.to);
  if (r.via !== undefined) parts.push('via', r.via);
  if (r.metric !== undefined) parts.push('metric', String(r.metric));
  parts.push('table', String(r.table));
  return `${parts.join(' ')} 2>/dev/null || true`;
}

/** The shell lines that take a node from `old` to `next`'s rules, table routes and sysctls. */
export function routingChanges(old: HostPlan, next: HostPlan): string[] {
  const lines: string[] = [];
  const nextRules = new Set(next.rules.map(ruleKey));
  const oldRules = new Set(old.rules.map(ruleKey));
  const kept = new Set(next.rules.map((r) => `${r.family} ${r.pref}`));
  for (const r of old.rules)
    if (!nextRules.has(ruleKey(r)) && !kept.has(`${r.family} ${r.pref}`))
      lines.push(`while ip -${r.family} rule del pref ${r.pref} 2>/dev/null; do :; done`);
  for (const r of next.rules) if (!oldRules.has(ruleKey(r))) lines.push(ruleCommand(r));
  const nextRoutes = new Set(tableRoutes(next).map(routeKey));
  const oldRoutes = new Set(tableRoutes(old).map(routeKey));
  for (const r of tableRoutes(old)) if (!nextRoutes.has(routeKey(r))) lines.push(routeDelete(r));
  for (const r of tableRoutes(next)) if (!oldRoutes.has(routeKey(r))) lines.push(routeCommand(r));
  const oldSysctls = new Set(old.sysctls.map((s) => `${s.key.join('/')}=${s.value}`));
  for (const s of next.sysctls)
    if (!oldSysctls.has(`${s.key.join('/')}=${s.value}`))
      lines.push(`echo ${s.value} > /proc/sys/${s.key.join('/')}${s.optional ? ' 2>/dev/null || true' : ''}`);
  return lines;
}

/** Applies routingChanges on every node where there are some; the nodes it changed. */
export function applyRouting(lab: LabInstance, next: readonly HostPlan[], say: (line: string) => void): void {
  for (const plan of next) {
    const old = lab.plans.find((p) => p.node === plan.node);
    if (!old) continue;
    const lines = routingChanges(old, plan);
    if (lines.length === 0) continue;
    runChecked(lab.runner, ['ip', 'netns', 'exec', lab.ns(plan.node), 'sh', '-e', '-c', lines.join('\n')]);
    say(`${plan.node}: ${lines.length} routing changes (rules, table routes, sysctls)`);
  }
}
