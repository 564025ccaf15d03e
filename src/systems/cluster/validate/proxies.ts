// HTTP proxies: to a known guest, on known nodes, on a port no forward or other proxy has there.
import type { ClusterSpec } from '../schema.ts';
import { checkGuestAndNodes, type Report } from './common.ts';

export function checkProxies(spec: ClusterSpec, nodeNames: Set<string>, report: Report): void {
  if (spec.proxies.length === 0) return;
  const guestNames = new Set(Object.keys(spec.guests));
  const all = Object.keys(spec.nodes);
  // The TCP ports forwards take: on every node ("8080"), or on some ("node1 8080"), by forward
  // index; kept apart so that 20,000 forwards on 200 nodes cost 20,000 entries, not 4 million.
  const everywhere = new Map<number, number>();
  const onNode = new Map<string, number>();
  spec.forwards.forEach((f, i) => {
    if (f.proto !== 'tcp') return;
    if (f.nodes === undefined) everywhere.set(f.port, i);
    else for (const n of f.nodes) onNode.set(`${n} ${f.port}`, i);
  });
  const forwardAt = (node: string, port: number) => {
    const i = Math.max(everywhere.get(port) ?? -1, onNode.get(`${node} ${port}`) ?? -1);
    return i < 0 ? undefined : `forwards[${i}]`;
  };
  const proxied = new Map<string, string>(); // "node1 8080" -> proxies[i]
  spec.proxies.forEach((x, i) => {
    const base = ['proxies', i];
    checkGuestAndNodes('proxy', x, base, { guests: guestNames, nodes: nodeNames }, report);
    for (const n of x.nodes ?? all) {
      const other = proxied.get(`${n} ${x.port}`) ?? forwardAt(n, x.port);
      if (other) {
        report(
          [...base, 'port'],
          `tcp/${x.port} on node ${n} is already ${other}'s`,
          'give the proxy its own public port',
        );
        break;
      }
    }
    for (const n of x.nodes ?? all) proxied.set(`${n} ${x.port}`, `proxies[${i}]`);
  });
}
