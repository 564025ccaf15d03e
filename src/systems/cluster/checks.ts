// The spec's lab checks: what each host name means, and whether a check can run at all.
// Checks name hosts symbolically (workstation, node1, guest2, gateway); the lab gives them addresses.

import type { SpecPath } from '../../input/problem.ts';
import { formatIPv4, parseIPv4 } from '../../util/ipv4.ts';
import type { Check, HostRef } from './model.ts';
import type { CheckSpec, ClusterSpec, GuestSpec } from './schema.ts';
import type { Report } from './validate/common.ts';

/** Names the lab gives its own hosts; nodes and guests cannot use them. */
export const LAB_HOSTS = ['workstation', 'upstream', 'gateway'] as const;

export function hostRef(spec: ClusterSpec, text: string): HostRef | undefined {
  if (text === 'workstation' || text === 'gateway') return { kind: text };
  if (Object.hasOwn(spec.nodes, text)) return { kind: 'node', name: text };
  if (Object.hasOwn(spec.guests, text)) return { kind: 'guest', name: text };
  const address = parseIPv4(text);
  if (address === undefined) return undefined;
  // An address that is a node's or a guest's means that host, so checks treat it the same way.
  const node = Object.entries(spec.nodes).find(([, n]) => n.address === address)?.[0];
  if (node) return { kind: 'node', name: node };
  const guest = Object.entries(spec.guests).find(([, g]) => g.address === address)?.[0];
  if (guest) return { kind: 'guest', name: guest };
  return { kind: 'address', address };
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

/**
 * Words a check uses for a node by its relation to a guest, so that the check still holds after the
 * guest migrates: "host" is the node hosting it, "foreign" a node that does not.
 */
export const NODE_WORDS = ['host', 'foreign'] as const;
type NodeWord = (typeof NODE_WORDS)[number];

const RELATIVE = /^(host|foreign)(?: of (\S+))?$/;

/** A host a check names, as the check means it; or why it means none. */
export type CheckHost = { readonly ref: HostRef } | { readonly message: string; readonly fix: string };

const dialsPort = (check: CheckSpec) =>
  check.port !== undefined && (check.proto === 'http' || check.proto === 'tcp' || check.proto === 'udp');

/** A check the workstation sends to a forwarded port: the node it dials must carry that port. */
function dialsForward(spec: ClusterSpec, check: CheckSpec): boolean {
  return hostRef(spec, check.from)?.kind === 'workstation' && dialsPort(check);
}

/** Does `node`'s public address forward (or proxy) the port this check dials, to `guest` if given? */
function carries(spec: ClusterSpec, check: CheckSpec, node: string, guest?: string): boolean {
  const proto = check.proto === 'udp' ? 'udp' : 'tcp';
  const on = (to: string, nodes: readonly string[] | undefined) =>
    (guest === undefined || to === guest) && (nodes === undefined || nodes.includes(node));
  return (
    spec.forwards.some((f) => f.proto === proto && f.port === check.port && on(f.to, f.nodes)) ||
    (proto === 'tcp' && spec.proxies.some((x) => x.port === check.port && on(x.to, x.nodes)))
  );
}

/**
 * The guests a bare "host" or "foreign" could be relative to: the guest running the client; else
 * the guest that must answer; else, for a forwarded port, the guests it leads to (from the node
 * dialled when the check names one). A usable check has exactly one.
 */
function guestsOfCheck(spec: ClusterSpec, check: CheckSpec): string[] {
  const from = hostRef(spec, check.from);
  if (from?.kind === 'guest') return [from.name];
  const answers = check.expect.answers === undefined ? undefined : hostRef(spec, check.expect.answers);
  if (answers?.kind === 'guest') return [answers.name];
  if (!dialsForward(spec, check)) return [];
  const to = hostRef(spec, check.to);
  const on = (nodes: readonly string[] | undefined) =>
    to?.kind !== 'node' || nodes === undefined || nodes.includes(to.name);
  const proto = check.proto === 'udp' ? 'udp' : 'tcp';
  const guests = [
    ...spec.forwards
      .filter((f) => f.proto === proto && f.port === check.port && on(f.nodes))
      .map((f) => f.to),
    ...(proto === 'tcp' ? spec.proxies.filter((x) => x.port === check.port && on(x.nodes)) : []).map(
      (x) => x.to,
    ),
  ];
  return [...new Set(guests)];
}

/** How a check's "host" or "foreign" reads once its guest is known: "host of guest1". */
export function checkHostLabel(spec: ClusterSpec, check: CheckSpec, text: string): string {
  const m = RELATIVE.exec(text);
  if (!m || m[2] !== undefined) return text;
  const [guest] = guestsOfCheck(spec, check);
  return guest === undefined ? text : `${m[1]} of ${guest}`;
}

/**
 * A host as `check` means it. "host" and "foreign" are resolved against where the guest is in this
 * spec, so after a migration the same check names the guest's new node. "foreign" is the first node
 * in the spec's order that does not host the guest and, for a check dialling a forwarded port from
 * the workstation, carries that port: one node, the same for every field of the check.
 * Undefined: not a host at all.
 */
export function checkHost(spec: ClusterSpec, check: CheckSpec, text: string): CheckHost | undefined {
  const m = RELATIVE.exec(text);
  if (!m) {
    const ref = hostRef(spec, text);
    return ref && { ref };
  }
  const word = m[1] as NodeWord;
  let guest = m[2];
  const guestNames = Object.keys(spec.guests);
  if (guest === undefined) {
    const guests = guestsOfCheck(spec, check);
    const meaning = `"${word}" is ${word === 'host' ? 'the node hosting' : 'a node not hosting'} the check's guest`;
    if (guests.length > 1)
      return {
        message: `${meaning}, and ${check.proto}/${check.port} leads to ${guests.join(' and ')}`,
        fix: `say which: "${word} of ${guests[0]}", or add expect: { answers: ${guests[0]} }`,
      };
    guest = guests[0];
    if (guest === undefined)
      return {
        message: `${meaning}, and no guest runs this check's client or answers it`,
        fix:
          guestNames[0] === undefined
            ? 'name a node'
            : `name the guest: "${word} of ${guestNames[0]}", or name a node`,
      };
  }
  // A guest named by the check, or the one its port or expect leads to (which may be missing too).
  if (!Object.hasOwn(spec.guests, guest))
    return { message: `unknown guest "${guest}"`, fix: `known guests: ${guestNames.slice(0, 8).join(', ')}` };
  const host = (spec.guests[guest] as GuestSpec).node;
  if (word === 'host') return { ref: { kind: 'node', name: host } };
  const forwarded = dialsForward(spec, check);
  const foreign = Object.keys(spec.nodes).find(
    (n) => n !== host && (!forwarded || carries(spec, check, n, guest)),
  );
  if (foreign !== undefined) return { ref: { kind: 'node', name: foreign } };
  const proto = check.proto === 'udp' ? 'udp' : 'tcp';
  return forwarded
    ? {
        message: `no node but ${host}, which hosts ${guest}, forwards ${proto}/${check.port} to it: "foreign" has none to dial`,
        fix: `forward ${proto}/${check.port} to ${guest} on another node too, or dial "host"`,
      }
    : {
        message: `${host}, which hosts ${guest}, is the only node: "foreign" has none to name`,
        fix: 'name a node, or add a second node',
      };
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
      if ((NODE_WORDS as readonly string[]).includes(name))
        report(
          [`${what}s`, name],
          `"${name}" is a word checks use for ${name === 'host' ? 'the node hosting a guest' : 'a node not hosting a guest'}`,
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

/** http, tcp and udp dial a port; ping and arp have none. */
const portProto = (check: CheckSpec) =>
  check.proto === 'http' || check.proto === 'tcp' || check.proto === 'udp';

function validateCheck(spec: ClusterSpec, check: CheckSpec, path: SpecPath, report: Report): void {
  const hosts = checkHosts(spec, check, path, report);
  if (!hosts) return;
  const needsPort = portProto(check);
  if (needsPort && check.port === undefined)
    report(path, `${check.proto} checks need the port they dial`, 'add "port:", e.g. port: 80');
  if (!needsPort && check.port !== undefined)
    report([...path, 'port'], `${check.proto} checks have no port`, 'remove "port:"');
  const { from, to } = hosts;
  if (from && from.kind !== 'workstation' && from.kind !== 'guest') {
    report(
      [...path, 'from'],
      `the lab runs clients on the workstation and on guests, not on "${check.from}"`,
      'use from: workstation, or a guest',
    );
    return;
  }
  if (!from || !to) return;
  checkFlow(spec, check, path, { from, to, answers: hosts.answers }, report);
}

/** The hosts a check names, each resolved or reported; undefined when its client is a node. */
function checkHosts(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  report: Report,
): { from?: HostRef; to?: HostRef; answers?: HostRef } | undefined {
  const known = `known hosts: workstation, gateway, ${[...Object.keys(spec.nodes), ...Object.keys(spec.guests)].slice(0, 8).join(', ')}`;
  const resolveAt = (text: string, at: SpecPath): HostRef | undefined => {
    const host = checkHost(spec, check, text);
    if (!host) report(at, `unknown host "${text}"`, known);
    else if ('message' in host) report(at, host.message, host.fix);
    else return host.ref;
    return undefined;
  };
  // "host" and "foreign" are nodes, which run no clients: say that, not what they resolve to.
  if (RELATIVE.test(check.from)) {
    report(
      [...path, 'from'],
      `the lab runs clients on the workstation and on guests, not on "${check.from}" (a node)`,
      'use from: workstation, or a guest',
    );
    return undefined;
  }
  const from = resolveAt(check.from, [...path, 'from']);
  const to = resolveAt(check.to, [...path, 'to']);
  const { answers, sees, leaves } = check.expect;
  const answersRef = answers === undefined ? undefined : resolveAt(answers, [...path, 'expect', 'answers']);
  if (sees !== undefined) resolveAt(sees, [...path, 'expect', 'sees']);
  if (leaves !== undefined && (RELATIVE.test(leaves) || Object.hasOwn(spec.nodes, leaves)))
    resolveAt(leaves, [...path, 'expect', 'leaves']);
  else if (leaves !== undefined)
    report(
      [...path, 'expect', 'leaves'],
      `unknown node "${leaves}"`,
      `known nodes: ${Object.keys(spec.nodes).join(', ')}`,
    );

  return { from, to, answers: answersRef };
}

/** What the lab can run between two resolved hosts, and what it can observe of it. */
function checkFlow(
  spec: ClusterSpec,
  check: CheckSpec,
  path: SpecPath,
  hosts: { from: HostRef; to: HostRef; answers?: HostRef },
  report: Report,
): void {
  const { from, to, answers: answersRef } = hosts;
  const { answers, sees, leaves } = check.expect;
  const needsPort = portProto(check);
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
    if (!carries(spec, check, to.name))
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
    const ref = (text: string) => (checkHost(spec, c, text) as { ref: HostRef }).ref;
    const label = (text: string) => checkHostLabel(spec, c, text);
    return {
      name:
        c.name ?? `${c.proto}${c.port === undefined ? '' : `/${c.port}`} ${label(c.from)} -> ${label(c.to)}`,
      from: ref(c.from),
      to: ref(c.to),
      proto: c.proto,
      port: c.port,
      expect: {
        answers: c.expect.answers === undefined ? undefined : ref(c.expect.answers),
        sees: c.expect.sees === undefined ? undefined : ref(c.expect.sees),
        leaves: c.expect.leaves === undefined ? undefined : formatHostRef(ref(c.expect.leaves)),
      },
      path: ['checks', i],
    };
  });
}
