// The spec's lab checks: what each host name means, and whether a check can run at all.
// Checks name hosts symbolically (workstation, node1, guest2, gateway); the lab gives them addresses.

import type { SpecPath } from '../../input/problem.ts';
import { formatIPv4, parseIPv4 } from '../../util/ipv4.ts';
import {
  checkFields,
  checkHostTarget,
  checkRoutedFields,
  checkSegment,
  SEGMENT_PROTOS,
} from './check-fields.ts';
import { answersOf, carries, checkFlow, portProto } from './check-flow.ts';
import { checkInsertFields, checkVrrp } from './check-insert.ts';
import type { Check, HostRef } from './model.ts';
import type { CheckSpec, ClusterSpec, GuestSpec } from './schema.ts';
import type { Report } from './validate/common.ts';

/** Names the lab gives its own hosts; nodes and guests cannot use them. */
export const LAB_HOSTS = ['workstation', 'upstream', 'gateway'] as const;

export function hostRef(spec: ClusterSpec, text: string): HostRef | undefined {
  if (text === 'workstation' || text === 'gateway') return { kind: text };
  if (Object.hasOwn(spec.nodes, text)) return { kind: 'node', name: text };
  if (Object.hasOwn(spec.guests, text)) return { kind: 'guest', name: text };
  const nic = /^([a-z][a-z0-9-]*):(\d+)$/.exec(text);
  if (nic) return nicRef(spec, nic[1] as string, Number(nic[2]));
  if (Object.hasOwn(spec.networks, text)) return { kind: 'network', name: text };
  const address = parseIPv4(text);
  if (address === undefined) return undefined;
  // An address that is a node's or a guest's NIC's means that host, so checks treat it the same way.
  const node = Object.entries(spec.nodes).find(([, n]) => n.address === address)?.[0];
  if (node) return { kind: 'node', name: node };
  for (const [name, g] of Object.entries(spec.guests)) {
    if (g.address === address) return { kind: 'guest', name };
    const index = (g.nics ?? []).findIndex((n) => n.address === address);
    if (index >= 0) return nicRef(spec, name, index);
  }
  return { kind: 'address', address };
}

/** NIC `index` of a guest ("vm2:1"); NIC 0 is the guest itself. Undefined when it has no such NIC. */
function nicRef(spec: ClusterSpec, guest: string, index: number): HostRef | undefined {
  const g = spec.guests[guest];
  if (!g || index >= Math.max(1, g.nics?.length ?? 0)) return undefined;
  return index === 0 ? { kind: 'guest', name: guest } : { kind: 'guest', name: guest, nic: index };
}

export function formatHostRef(ref: HostRef): string {
  switch (ref.kind) {
    case 'workstation':
    case 'gateway':
      return ref.kind;
    case 'guest':
      return ref.nic === undefined ? ref.name : `${ref.name}:${ref.nic}`;
    case 'node':
    case 'network':
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

/**
 * The guests a bare "host" or "foreign" could be relative to: the guest running the client; else
 * the guest that must answer; else, for a forwarded port, the guests it leads to (from the node
 * dialled when the check names one). A usable check has exactly one.
 */
function guestsOfCheck(spec: ClusterSpec, check: CheckSpec): string[] {
  const from = hostRef(spec, check.from);
  if (from?.kind === 'guest') return [from.name];
  const answered = answersOf(check);
  const answers = answered === undefined ? undefined : hostRef(spec, answered);
  if (answers?.kind === 'guest') return [answers.name];
  // A check toward a guest from outside (a routed network's workstation or gateway): that guest.
  const target = hostRef(spec, check.to);
  if (target?.kind === 'guest' && (from?.kind === 'workstation' || from?.kind === 'gateway'))
    return [target.name];
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

function validateCheck(spec: ClusterSpec, check: CheckSpec, path: SpecPath, report: Report): void {
  const hosts = checkHosts(spec, check, path, report);
  if (!hosts) return;
  const needsPort = portProto(check);
  if (needsPort && check.port === undefined)
    report(path, `${check.proto} checks need the port they dial`, 'add "port:", e.g. port: 80');
  if (!needsPort && check.port !== undefined)
    report([...path, 'port'], `${check.proto} checks have no port`, 'remove "port:"');
  const { from, to } = hosts;
  const onSegment = SEGMENT_PROTOS.has(check.proto);
  const client = from?.kind === 'workstation' || from?.kind === 'guest' || from?.kind === 'gateway';
  checkInsertFields(spec, check, path, report);
  if (check.proto === 'vrrp') {
    if (from && to) checkVrrp(path, { from, to }, report);
    return;
  }
  if (from && !client && !(onSegment && from.kind === 'node')) {
    report(
      [...path, 'from'],
      `the lab runs clients on the workstation and on guests, not on "${check.from}"`,
      'use from: workstation, or a guest',
    );
    return;
  }
  if (!from || !to) return;
  if (onSegment || check.proto === 'garp') checkSegment(spec, check, path, { from, to }, report);
  else {
    checkHostTarget(check, path, to, report);
    checkFlow(spec, check, path, { from, to, answers: hosts.answers }, report);
  }
  checkFields(spec, check, path, { from, to }, report);
  checkRoutedFields(spec, check, path, { from, to }, report);
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
  if (RELATIVE.test(check.from) && !SEGMENT_PROTOS.has(check.proto) && check.proto !== 'vrrp') {
    report(
      [...path, 'from'],
      `the lab runs clients on the workstation and on guests, not on "${check.from}" (a node)`,
      'use from: workstation, or a guest',
    );
    return undefined;
  }
  const from = resolveAt(check.from, [...path, 'from']);
  const to = resolveAt(check.to, [...path, 'to']);
  const { answers, sees, leaves, via } = check.expect;
  let answersRef: HostRef | undefined;
  if (typeof answers === 'string') answersRef = resolveAt(answers, [...path, 'expect', 'answers']);
  else for (const [i, a] of (answers ?? []).entries()) resolveAt(a, [...path, 'expect', 'answers', i]);
  if (sees !== undefined) resolveAt(sees, [...path, 'expect', 'sees']);
  if (check.source !== undefined) resolveAt(check.source, [...path, 'source']);
  if (leaves !== undefined && (RELATIVE.test(leaves) || Object.hasOwn(spec.nodes, leaves)))
    resolveAt(leaves, [...path, 'expect', 'leaves']);
  else if (leaves !== undefined)
    report(
      [...path, 'expect', 'leaves'],
      `unknown node "${leaves}"`,
      `known nodes: ${Object.keys(spec.nodes).join(', ')}`,
    );
  if (via !== undefined && (RELATIVE.test(via) || Object.hasOwn(spec.nodes, via)))
    resolveAt(via, [...path, 'expect', 'via']);
  else if (via !== undefined)
    report(
      [...path, 'expect', 'via'],
      `unknown node "${via}"`,
      `known nodes: ${Object.keys(spec.nodes).join(', ')}`,
    );

  return { from, to, answers: answersRef };
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
      family: c.family === 'ipv6' ? 6 : 4,
      source: c.source === undefined ? undefined : ref(c.source),
      mac: c.mac,
      size: c.size,
      cut: c.cut,
      expect: {
        answers: typeof c.expect.answers === 'string' ? ref(c.expect.answers) : undefined,
        receivers: typeof c.expect.answers === 'object' ? c.expect.answers.map(ref) : undefined,
        blocked: c.expect.blocked,
        sees: c.expect.sees === undefined ? undefined : ref(c.expect.sees),
        leaves: c.expect.leaves === undefined ? undefined : formatHostRef(ref(c.expect.leaves)),
        via: c.expect.via === undefined ? undefined : formatHostRef(ref(c.expect.via)),
        through: c.expect.through,
        ttl: c.expect.ttl,
      },
      path: ['checks', i],
    };
  });
}
