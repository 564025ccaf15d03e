// The checks a spec without "checks:" gets for its reverse proxies: the workstation through every
// node a proxy is on, answered by the proxy's guest.
import type { Check, Cluster } from '../../model.ts';

export function proxyChecks(cluster: Cluster): Check[] {
  return cluster.proxies.flatMap((x) =>
    x.nodes.map(
      (via): Check => ({
        name: `http/${x.port} proxy on ${via} -> ${x.guest}`,
        from: { kind: 'workstation' },
        to: { kind: 'node', name: via },
        proto: 'http',
        port: x.port,
        // The proxy connects from its node's own guest-bridge address and answers itself.
        expect: {
          answers: { kind: 'guest', name: x.guest },
          sees: { kind: 'node', name: via },
          leaves: via,
        },
        path: x.path,
      }),
    ),
  );
}
