// Links, addresses and routes -> an `ip -batch` file. Bring-up order: bridges, their ports, then
// addresses (a device's first address on a subnet is its primary), then routes.
import type { HostPlan } from './plan.ts';

export function renderIpBatch(plan: HostPlan, header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  for (const bridge of plan.bridges) {
    out.push('', `# ${bridge.source}`);
    const mac = bridge.mac ? ` address ${bridge.mac}` : '';
    const options = [`stp_state ${bridge.stp ? 1 : 0}`];
    // ip counts the forward delay in hundredths of a second.
    if (bridge.forwardDelay !== undefined) options.push(`forward_delay ${bridge.forwardDelay * 100}`);
    if (bridge.callIptables) options.push('nf_call_iptables 1');
    if (bridge.multicastSnooping === false) options.push('mcast_snooping 0');
    out.push(`link add ${bridge.name}${mac} type bridge ${options.join(' ')}`);
    for (const port of bridge.ports)
      out.push(`link set ${port} master ${bridge.name}`, `link set ${port} up`);
    out.push(`link set ${bridge.name} up`);
  }
  out.push('');
  for (const a of plan.addresses) out.push(`# ${a.source}`, `address replace ${a.cidr} dev ${a.dev}`);
  out.push('');
  for (const r of plan.routes) out.push(`# ${r.source}`, `route replace ${r.to} via ${r.via} dev ${r.dev}`);
  return `${out.join('\n')}\n`;
}
