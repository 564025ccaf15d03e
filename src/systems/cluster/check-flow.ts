// What the lab can run between two hosts a check names, and what it can observe of it: the rules
// of the checks that dial a host (http, tcp, udp, ping, arp).
import type { SpecPath } from '../../input/problem.ts';
import { onRouted, routedFromUpstream } from './check-fields.ts';
import type { HostRef } from './model.ts';
import type { CheckSpec, ClusterSpec } from './schema.ts';
import type { Report } from './validate/common.ts';

/** The one host "answers" names; undefined for a list (multicast and broadcast receivers). */
export const answersOf = (check: CheckSpec): string | undefined =>
  typeof check.expect.answers === 'string' ? check.expect.answers : undefined;

/** http, tcp and udp dial a port; ping and arp have none. */
export const portProto = (check: CheckSpec) =>
  check.proto === 'http' || check.proto === 'tcp' || check.proto === 'udp';

/** Does `node`'s public address forward (or proxy) the port this check dials, to `guest` if given? */
export function carries(spec: ClusterSpec, check: CheckSpec, node: string, guest?: string): boolean {
  const proto = check.proto === 'udp' ? 'udp' : 'tcp';
  const on = (to: string, nodes: readonly string[] | undefined) =>
    (guest === undefined || to === guest) && (nodes === undefined || nodes.includes(node));
  return (
    spec.forwards.some((f) => f.proto === proto && f.port === check.port && on(f.to, f.nodes)) ||
    (proto === 'tcp' && spec.proxies.some((x) => x.port === check.port && on(x.to, x.nodes)))
  );
}

/** What the lab can run between two resolved hosts, and what it can observe of it. */
export function checkFlow(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  hosts: { from: HostRef; to: HostRef; answers?: HostRef },
  report: Report,
): void {
  const { from, to, answers: answersRef } = hosts;
  const { sees, leaves } = check.expect;
  const needsPort = portProto(check);
  if (check.proto === 'arp' && from.kind !== 'guest' && from.kind !== 'gateway')
    report(
      [...path, 'from'],
      "an arp check runs on a guest, or on a routed network's gateway (it asks its own segment)",
      'use a guest as "from"',
    );
  if (to.kind === 'gateway' && from.kind !== 'guest')
    report(
      [...path, 'to'],
      '"gateway" is a guest\'s anycast gateway; only a guest can reach it',
      'use a guest as "from"',
    );
  // A routed network's gateway is a real router (upstream, or the router node): the lab serves there.
  const routedGateway = to.kind === 'gateway' && onRouted(spec, from);
  if (to.kind === 'gateway' && needsPort && !routedGateway)
    report([...path, 'to'], `no ${check.proto} server runs on the gateway`, 'use proto ping or arp');
  if (from.kind === 'workstation' && to.kind === 'guest' && !routedFromUpstream(spec, to))
    report(
      [...path, 'to'],
      `guest ${to.name} has a private address the workstation cannot route to`,
      'dial a node\'s public address ("to: node1") with a port that is forwarded to the guest',
    );
  if (
    needsPort &&
    from.kind === 'guest' &&
    to.kind !== 'workstation' &&
    to.kind !== 'guest' &&
    !routedGateway
  )
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
  if (from.kind === 'workstation' && to.kind === 'node' && needsPort && check.port !== undefined) {
    const proto = check.proto === 'udp' ? 'udp' : 'tcp';
    if (!carries(spec, check, to.name))
      report(
        [...path, 'port'],
        `no forward or proxy of ${proto}/${check.port} on node ${to.name}'s public address; the check could only time out`,
        'add the forward under "forwards:" (or a proxy under "proxies:"), or dial a forwarded port',
      );
  }
  checkAnswers(check, path, answersRef, report);
}

/** What "answers" may name: ping has no answerer, arp a node, a port a server's host. */
function checkAnswers(
  check: CheckSpec,
  path: SpecPath,
  answersRef: HostRef | undefined,
  report: Report,
): void {
  const needsPort = portProto(check);
  if (answersOf(check) !== undefined && check.proto === 'ping')
    report(
      [...path, 'expect', 'answers'],
      'ping cannot tell who answered, only from which address',
      'remove "answers"',
    );
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
}
