// Sysctls -> a sysctl.d snippet; modules -> a modules-load.d snippet.
import type { HostPlan } from './plan.ts';

/** Dotted form, or the slash form when a segment holds a dot (an interface such as eth1.100). */
export function sysctlKey(key: readonly string[]): string {
  return key.some((k) => k.includes('.')) ? key.join('/') : key.join('.');
}

export function renderSysctl(plan: Pick<HostPlan, 'sysctls'>, header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  for (const s of plan.sysctls)
    out.push('', `# ${s.source}`, `${s.optional ? '-' : ''}${sysctlKey(s.key)} = ${s.value}`);
  return `${out.join('\n')}\n`;
}

export function renderModules(plan: Pick<HostPlan, 'modules'>, header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  for (const m of plan.modules) out.push(`# ${m.source}`, m.name);
  return `${out.join('\n')}\n`;
}
