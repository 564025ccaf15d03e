// The spec's lab checks: what each host name means, and whether a check can run at all.
// Checks name hosts symbolically (workstation, node1, guest2, gateway); the lab gives them addresses.
import { formatIPv4, parseIPv4 } from '../util/ipv4.ts';
import type { Check, HostRef } from './model.ts';
import type { SpecPath } from './problem.ts';
import type { CheckSpec, ClusterSpec } from './schema.ts';

/** Names the lab gives its own hosts; nodes and guests cannot use them. */
export const LAB_HOSTS = ['workstation', 'upstream', 'gateway'] as const;

type Report = (path: SpecPath, message: string, fix?: string, atKey?: boolean) => void;

export function hostRef(spec: ClusterSpec, text: string): HostRef | undefined {
  if (text === 'workstation' || text === 'gateway') return { kind: text };
  if (Object.hasOwn(spec.nodes, text)) return { kind: 'node', name: text };
  if (Object.hasOwn(spec.guests, text)) return { kind: 'guest', name: text };
  // An address that is a node's or a guest's means that host, so checks treat it the same way.
  const node = Object.entries(spec.nodes).find(([, n]) => n.address === text)?.[0];
  if (node) return { kind: 'node', name: node };
  const guest = Object.entries(spec.guests).find(([, g]) => g.address === text)?.[0];
  if (guest) return { kind: 'guest', name: guest };
  const address = parseIPv4(text);
  return address === undefined ? undefined : { kind: 'address', address };
}

export function formatHostRef(ref: HostRef): string {
  switch (ref.kind) {
    case 'workstation':
    case 'gateway':
      return ref.kind;
    case 'node':
    case 'guest':
      return ref.name;
    case 'address':
      return formatIPv4(ref.address);
  }
}

/** Node and guest names become lab namespaces and check hosts: one name, one host. */
export function checkHostNames(spec: ClusterSpec, report: Report): void {
  for (const name of Object.keys(spec.guests)) {
    if (Object.hasOwn(spec.nodes, name))
      report(
        ['guests', name],
        `guest ${name} has the name of a node`,
        'give every node and guest its own name',
        true,
      );
  }
  for (const [what, names] of [
    ['node', Object.keys(spec.nodes)],
    ['guest', Object.keys(spec.guests)],
  ] as const) {
    for (const name of names) {
      if ((LAB_HOSTS as readonly string[]).includes(name))
        report(
          [`${what}s`, name],
          `"${name}" is a name checks use for the lab's own ${name === 'gateway' ? 'anycast gateway' : name}`,
          `rename the ${what}, e.g. ${what}-${name}`,
          true,
        );
    }
  }
}

export function validateChecks(spec: ClusterSpec, report: Report): void {
  (spec.checks ?? []).forEach((check, i) => {
    validateCheck(spec, check, ['checks', i], report);
  });
}

function validateCheck(spec: ClusterSpec, check: CheckSpec, path: SpecPath, report: Report): void {
  const known = `known hosts: workstation, gateway, ${[...Object.keys(spec.nodes), ...Object.keys(spec.guests)].slice(0, 8).join(', ')}`;
  const resolveAt = (text: string, at: SpecPath): HostRef | undefined => {
    const ref = hostRef(spec, text);
    if (!ref) report(at, `unknown host "${text}"`, known);
    return ref;
  };
  const from = resolveAt(check.from, [...path, 'from']);
  const to = resolveAt(check.to, [...path, 'to']);
  const { answers, sees, leaves } = check.expect;
  if (answers !== undefined) resolveAt(answers, [...path, 'expect', 'answers']);
  if (sees !== undefined) resolveAt(sees, [...path, 'expect', 'sees']);
  if (leaves !== undefined && !Object.hasOwn(spec.nodes, leaves))
    report(
      [...path, 'expect', 'leaves'],
      `unknown node "${leaves}"`,
      `known nodes: ${Object.keys(spec.nodes).join(', ')}`,
    );

  const needsPort = check.proto === 'http' || check.proto === 'tcp' || check.proto === 'udp';
  if (needsPort && check.port === undefined)
    report(path, `${check.proto} checks need the port they dial`, 'add "port:", e.g. port: 80');
  if (!needsPort && check.port !== undefined)
    report([...path, 'port'], `${check.proto} checks have no port`, 'remove "port:"');

  if (from && from.kind !== 'workstation' && from.kind !== 'guest') {
    report(
      [...path, 'from'],
      `the lab runs clients on the workstation and on guests, not on "${check.from}"`,
      'use from: workstation, or a guest',
    );
    return;
  }
  if (!from || !to) return;
  if (check.proto === 'arp' && from.kind !== 'guest')
    report(
      [...path, 'from'],
      'an arp check runs on a guest (it asks its own segment)',
      'use a guest as "from"',
    );
  if (to.kind === 'gateway' && from.kind !== 'guest')
    report(
      [...path, 'to'],
      '"gateway" is a guest\'s anycast gateway; only a guest can reach it',
      'use a guest as "from"',
    );
  if (to.kind === 'gateway' && needsPort)
    report([...path, 'to'], `no ${check.proto} server runs on the gateway`, 'use proto ping or arp');
  if (from.kind === 'workstation' && to.kind === 'guest')
    report(
      [...path, 'to'],
      `guest ${to.name} has a private address the workstation cannot route to`,
      'dial a node\'s public address ("to: node1") with a port that is forwarded to the guest',
    );
  if (needsPort && from.kind === 'guest' && to.kind !== 'workstation' && to.kind !== 'guest')
    report(
      [...path, 'to'],
      `no ${check.proto} server runs on ${check.to}: the lab serves ports on guests and the workstation`,
      'dial a guest or the workstation, or use proto ping',
    );
  const viaUplink =
    needsPort &&
    ((from.kind === 'workstation' && to.kind === 'node') ||
      (from.kind === 'guest' && to.kind === 'workstation'));
  if (leaves !== undefined && !viaUplink)
    report(
      [...path, 'expect', 'leaves'],
      'only a tcp, udp or http flow between the workstation and the cluster passes a node on its way out',
      'remove "leaves", or check a flow to or from the workstation',
    );
  if (sees !== undefined && !needsPort)
    report(
      [...path, 'expect', 'sees'],
      `a ${check.proto} check has no server to report what it saw`,
      'remove "sees"',
    );
  if (answers !== undefined && check.proto === 'ping')
    report(
      [...path, 'expect', 'answers'],
      'ping cannot tell who answered, only from which address',
      'remove "answers"',
    );
  const answersRef = answers === undefined ? undefined : hostRef(spec, answers);
  if (answersRef && check.proto === 'arp' && answersRef.kind !== 'node')
    report(
      [...path, 'expect', 'answers'],
      'an arp check expects the node whose guest-bridge MAC answers',
      'name a node',
    );
  if (answersRef && needsPort && answersRef.kind !== 'guest' && answersRef.kind !== 'workstation')
    report(
      [...path, 'expect', 'answers'],
      'servers run on guests and the workstation',
      'name a guest or workstation',
    );
  if (from.kind === 'workstation' && to.kind === 'node' && needsPort && check.port !== undefined) {
    const proto = check.proto === 'udp' ? 'udp' : 'tcp';
    const on = (nodes: readonly string[] | undefined) => nodes === undefined || nodes.includes(to.name);
    const forwarded =
      spec.forwards.some((f) => f.proto === proto && f.port === check.port && on(f.nodes)) ||
      (proto === 'tcp' && spec.proxies.some((x) => x.port === check.port && on(x.nodes)));
    if (!forwarded)
      report(
        [...path, 'port'],
        `no forward or proxy of ${proto}/${check.port} on node ${to.name}'s public address; the check could only time out`,
        'add the forward under "forwards:" (or a proxy under "proxies:"), or dial a forwarded port',
      );
  }
}

export function resolveChecks(spec: ClusterSpec): Check[] | undefined {
  if (spec.checks === undefined) return undefined;
  return spec.checks.map((c, i) => {
    const ref = (text: string) => hostRef(spec, text) as HostRef;
    return {
      name: c.name ?? `${c.proto}${c.port === undefined ? '' : `/${c.port}`} ${c.from} -> ${c.to}`,
      from: ref(c.from),
      to: ref(c.to),
      proto: c.proto,
      port: c.port,
      expect: {
        answers: c.expect.answers === undefined ? undefined : ref(c.expect.answers),
        sees: c.expect.sees === undefined ? undefined : ref(c.expect.sees),
        leaves: c.expect.leaves,
      },
      path: ['checks', i],
    };
  });
}
