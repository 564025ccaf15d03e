// Forwards: to a known guest, on known nodes, one public port each, and stateless replies that can
// tell which public port to answer from.
import type { ClusterSpec } from '../schema.ts';
import { checkGuestAndNodes, type Report } from './common.ts';

export function checkForwards(spec: ClusterSpec, nodeNames: Set<string>, report: Report): void {
  const guestNames = new Set(Object.keys(spec.guests));
  // Public ports in use: by forwards on every node ("tcp/80"), and by node ("node1 tcp/80").
  // Kept apart so that 20,000 forwards on 200 nodes cost 20,000 lookups, not 4 million.
  const everywhere = new Map<string, number>();
  const onNode = new Map<string, number>();
  const anyNode = new Map<string, number>();
  const reverse = new Map<string, { port: number; index: number }>(); // stateless "guest tcp/22" -> public port
  spec.forwards.forEach((f, i) => {
    const base = ['forwards', i];
    checkGuestAndNodes('forward', f, base, { guests: guestNames, nodes: nodeNames }, report);
    const port = `${f.proto}/${f.port}`;
    let clash = everywhere.get(port);
    if (f.nodes === undefined) {
      clash ??= anyNode.get(port);
      if (clash === undefined) everywhere.set(port, i);
    } else {
      for (const node of f.nodes) {
        clash ??= onNode.get(`${node} ${port}`);
        if (!onNode.has(`${node} ${port}`)) onNode.set(`${node} ${port}`, i);
      }
      if (!anyNode.has(port)) anyNode.set(port, i);
    }
    if (clash !== undefined) {
      report(
        [...base, 'port'],
        `${port} is already forwarded by forwards[${clash}] on ${f.nodes === undefined && everywhere.get(port) === clash ? 'the same nodes' : 'a node this forward also uses'}`,
        'use another public port, or split the nodes between the two forwards with "nodes:"',
      );
    }
    const strategy = f.strategy ?? spec.strategy;
    if (strategy === 'stateless') {
      // The hosting node rewrites the guest's reply back by (guest, proto, guest port) alone.
      const key = `${f.to} ${f.proto}/${f.toPort ?? f.port}`;
      const seen = reverse.get(key);
      if (seen && seen.port !== f.port) {
        report(
          [...base, 'port'],
          `stateless forwards[${seen.index}] and forwards[${i}] both lead to ${f.to} ${f.proto}/${f.toPort ?? f.port} from different public ports (${seen.port}, ${f.port}); a stateless reply cannot tell which one to answer from`,
          'use one public port for both, or "strategy: fullnat" for one of them',
        );
      } else if (!seen) reverse.set(key, { port: f.port, index: i });
    }
  });
}
