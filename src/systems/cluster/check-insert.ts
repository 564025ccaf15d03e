// The check fields of seed 004's insertion: "through" (an appliance the flow passes, or none), a
// ping's "ttl", and the vrrp check (an HA pair's advertisement between two nodes on the uplink).
import type { SpecPath } from '../../input/problem.ts';
import type { HostRef } from './model.ts';
import type { CheckSpec, ClusterSpec } from './schema.ts';
import type { Report } from './validate/common.ts';

/** The guests some network inserts. */
const appliances = (spec: ClusterSpec): string[] => [
  ...new Set(Object.values(spec.networks).flatMap((n) => (n.insert === undefined ? [] : [n.insert]))),
];

/** through names an appliance (or "none"); ttl goes with ping. */
export function checkInsertFields(spec: ClusterSpec, check: CheckSpec, path: SpecPath, report: Report): void {
  const { through, ttl, blocked } = check.expect;
  if (through !== undefined && through !== 'none' && !appliances(spec).includes(through))
    report(
      [...path, 'expect', 'through'],
      `"${through}" is no network's inserted appliance`,
      appliances(spec).length > 0
        ? `name one: ${appliances(spec).join(', ')}, or "none"`
        : 'insert it first (networks.<name>.insert), or write "none"',
    );
  if (through !== undefined && blocked === true)
    report(
      [...path, 'expect', 'through'],
      'a blocked check has no flow to pass an appliance both ways',
      'remove "through", or "blocked"',
    );
  if (ttl !== undefined && check.proto !== 'ping')
    report(
      [...path, 'expect', 'ttl'],
      `a ${check.proto} check reads no TTL`,
      'use proto ping, or remove "ttl"',
    );
}

/** vrrp: from one node to another, on the uplink (its port is refused with every portless check's). */
export function checkVrrp(path: SpecPath, hosts: { from: HostRef; to: HostRef }, report: Report): void {
  if (hosts.from.kind !== 'node')
    report([...path, 'from'], "a vrrp advertisement is sent by a node (an HA pair's member)", 'name a node');
  if (hosts.to.kind !== 'node')
    report(
      [...path, 'to'],
      'a vrrp check names the node that must receive the advertisement',
      'name the other node',
    );
}
