// Proxies -> haproxy.cfg (HAProxy 2.6, Debian 12). One frontend per public port, one backend per guest
// port; `source` pins the connection to the node's own guest-bridge address.
import { FILES, type RenderedFile } from '../../../../host/files.ts';
import type { HostPlan } from '../../../../host/plan.ts';

/** haproxy.cfg, on a node with proxies. */
export function proxyFiles(plan: HostPlan, who: string): RenderedFile[] {
  if (plan.proxies.length === 0) return [];
  const how = 'HTTP reverse proxies: haproxy -f haproxy.cfg (check: haproxy -c -f haproxy.cfg)';
  return [{ path: FILES.haproxy, chunks: [renderHaproxy(plan, [who, how])] }];
}

export function renderHaproxy(plan: HostPlan, header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  out.push(
    '',
    'global',
    '\tmaxconn 4096',
    '',
    'defaults',
    '\tmode http',
    '\toption forwardfor  # the guest finds the client in X-Forwarded-For',
    '\ttimeout connect 5s',
    '\ttimeout client 30s',
    '\ttimeout server 30s',
  );
  const backends = new Map<string, (typeof plan.proxies)[number]>();
  for (const p of plan.proxies) {
    out.push(
      '',
      `# ${p.source}`,
      `frontend ${p.bind.replace(':', '-')}`,
      `\tbind ${p.bind}`,
      `\tdefault_backend ${p.name}`,
    );
    backends.set(p.name, p);
  }
  for (const p of backends.values()) {
    out.push(
      '',
      `backend ${p.name}`,
      "\t# From the node's own guest-bridge address, never the anycast gateway (seed part 3, U1).",
      `\tserver ${p.guest} ${p.backend} source ${p.from}`,
    );
  }
  return `${out.join('\n')}\n`;
}
