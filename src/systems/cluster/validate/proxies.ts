// HTTP proxies: to a known guest, on known nodes, on a port no forward or other proxy has there.
import type { ClusterSpec } from '../schema.ts';
import { checkGuestAndNodes, type Report } from './common.ts';

export function checkProxies(spec: ClusterSpec, nodeNames: Set<string>, report: Report): void {
  // The ports forwards take, by node: only needed (and, with 20,000 forwards on 200 nodes, only
  // worth building) when there is a proxy to compare them with.
  if (spec.proxies.length === 0) return;
  const guestNames = new Set(Object.keys(spec.guests));
  const all = Object.keys(spec.nodes);
  const taken = new Map<string, string>(); // "node1 tcp/8080" -> what has it
  spec.forwards.forEach((f, i) => {
    if (f.proto === 'tcp') for (const n of f.nodes ?? all) taken.set(`${n} ${f.port}`, `forwards[${i}]`);
  });
  spec.proxies.forEach((x, i) => {
    const base = ['proxies', i];
    checkGuestAndNodes('proxy', x, base, { guests: guestNames, nodes: nodeNames }, report);
    for (const n of x.nodes ?? all) {
      const other = taken.get(`${n} ${x.port}`);
      if (other) {
        report(
          [...base, 'port'],
          `tcp/${x.port} on node ${n} is already ${other}'s`,
          'give the proxy its own public port',
        );
        break;
      }
    }
    for (const n of x.nodes ?? all) taken.set(`${n} ${x.port}`, `proxies[${i}]`);
  });
}
