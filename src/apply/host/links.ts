// NICs, bonds and VLANs: the live links compared with the plan's, as network.sh sets them (it is the
// reference: the same commands, the same refusals), and convergent's links the plan dropped. A NIC
// is never created or deleted; a bond's slave goes down only to join it; a bond changes mode only
// without slaves. Adds in plan order (parents first); deletions children first.

import { ENSLAVE } from '../../host/network-script.ts';
import type { BondPlan, LinkPlan, NicPlan, VlanPlan } from '../../host/plan.ts';
import { LINK_ALIAS_PREFIX, linkAlias } from '../../host/routing.ts';
import type { Change, Command } from '../change.ts';
import { adoptedOf } from './adopted.ts';
import { change, ip, type Refusals, sh } from './commands.ts';
import type { LiveLink } from './read.ts';

export interface LinkScope {
  readonly live: ReadonlyMap<string, LiveLink>;
  /** Every link the plan names: its NICs, bonds, VLANs and bridges. */
  readonly desired: ReadonlySet<string>;
  /** The state dir's record: the ports and slaves the plans gave convergent's links. */
  readonly recorded: Readonly<Record<string, readonly string[]>>;
  readonly refusals: Refusals;
}

export const isUp = (l: LiveLink) => l.flags?.includes('UP') === true;
export const kindOf = (l: LiveLink) => l.linkinfo?.info_kind;
const data = (l: LiveLink) => l.linkinfo?.info_data ?? {};
export const isOwned = (l: LiveLink) => l.ifalias?.startsWith(LINK_ALIAS_PREFIX) === true;

/** One change for the link, or none when it is as the plan says. */
export function linkChanges(links: readonly LinkPlan[], scope: LinkScope): Change[] {
  const slaves = new Set(links.flatMap((l) => (l.kind === 'bond' ? l.slaves : [])));
  return links.flatMap((link) => linkChange(link, slaves, scope));
}

function linkChange(link: LinkPlan, slaves: ReadonlySet<string>, scope: LinkScope): Change[] {
  switch (link.kind) {
    case 'nic':
      return nicChange(link, slaves.has(link.name), scope);
    case 'bond':
      return bondChange(link, scope);
    case 'vlan':
      return vlanChange(link, scope);
  }
}

/** Settings of an existing link, gathered as (detail, command) pairs. */
export class Edits {
  readonly details: string[] = [];
  readonly commands: Command[] = [];
  add(detail: string, ...commands: Command[]): void {
    this.details.push(detail);
    this.commands.push(...commands);
  }
  change(what: string, source: string): Change[] {
    if (this.commands.length === 0) return [];
    return [change('links', 'change', what, this.commands, { detail: this.details.join(', '), source })];
  }
}

/** The alias, MTU and up state of a link convergent manages: the end of every link's change. */
export function aliasMtuUp(
  edits: Edits,
  l: LiveLink,
  plan: { name: string; mtu?: number; source: string },
  up: boolean,
): void {
  const former = adoptedOf(plan).formerAlias;
  if (former !== undefined) {
    // A checkpoint's link that was not convergent's: its alias as it was.
    if ((l.ifalias ?? '') !== former)
      edits.add(
        `alias ${l.ifalias ?? '(none)'} -> ${former || '(none)'}`,
        ip('link', 'set', 'dev', plan.name, 'alias', former),
      );
  } else if (l.ifalias !== linkAlias(plan.source))
    edits.add(`alias ${l.ifalias ?? '(none)'} -> ${linkAlias(plan.source)}`, aliasCommand(plan));
  if (plan.mtu !== undefined && l.mtu !== plan.mtu)
    edits.add(`mtu ${l.mtu} -> ${plan.mtu}`, ip('link', 'set', 'dev', plan.name, 'mtu', String(plan.mtu)));
  if (up && !isUp(l)) edits.add('down -> up', ip('link', 'set', 'dev', plan.name, 'up'));
}

export const aliasCommand = (plan: { name: string; source: string }) =>
  ip('link', 'set', 'dev', plan.name, 'alias', linkAlias(plan.source));

const mtuUp = (plan: { name: string; mtu?: number }): Command =>
  ip('link', 'set', 'dev', plan.name, ...(plan.mtu === undefined ? [] : ['mtu', String(plan.mtu)]), 'up');

function nicChange(nic: NicPlan, slave: boolean, scope: LinkScope): Change[] {
  const l = scope.live.get(nic.name);
  if (l === undefined) {
    scope.refusals.add(
      `nic ${nic.name} (${nic.source})`,
      'no such link on this host, and convergent never creates a NIC',
      `plug it in or rename it to ${nic.name} (udev), or name the host's NIC in ${nic.source}`,
    );
    return [];
  }
  const edits = new Edits();
  if (nic.mtu !== undefined && l.mtu !== nic.mtu)
    edits.add(`mtu ${l.mtu} -> ${nic.mtu}`, ip('link', 'set', 'dev', nic.name, 'mtu', String(nic.mtu)));
  // A bond's slave is brought up by its bond; bringing it up here would only bounce it.
  if (!slave && !isUp(l)) edits.add('down -> up', ip('link', 'set', 'dev', nic.name, 'up'));
  return edits.change(`nic ${nic.name}`, nic.source);
}

const enslave = (slave: string, bond: string) => sh(`${ENSLAVE.join('\n')}\nenslave ${slave} ${bond}`);

function bondOptions(bond: BondPlan): Command {
  const options = ['miimon', String(bond.miimon)];
  if (bond.xmitHashPolicy !== undefined) options.push('xmit_hash_policy', bond.xmitHashPolicy);
  return ip('link', 'set', 'dev', bond.name, 'type', 'bond', ...options);
}

function bondChange(bond: BondPlan, scope: LinkScope): Change[] {
  const l = scope.live.get(bond.name);
  const what = `bond ${bond.name}`;
  const primary =
    bond.primary === undefined
      ? []
      : [ip('link', 'set', 'dev', bond.name, 'type', 'bond', 'primary', bond.primary)];
  if (l === undefined)
    return [
      change(
        'links',
        'add',
        what,
        [
          ip('link', 'add', bond.name, 'type', 'bond', 'mode', bond.mode),
          bondOptions(bond),
          aliasCommand(bond),
          ...bond.slaves.map((s) => enslave(s, bond.name)),
          ...primary,
          mtuUp(bond),
        ],
        { detail: `mode ${bond.mode}, slaves ${bond.slaves.join(' ')}`, source: bond.source },
      ),
    ];
  if (kindOf(l) !== 'bond') {
    scope.refusals.add(
      `${what} (${bond.source})`,
      `${bond.name} exists but is no bond (${kindOf(l) ?? 'a NIC'})`,
      `rename or delete it (ip link del ${bond.name}), then apply again`,
    );
    return [];
  }
  const edits = new Edits();
  const d = data(l);
  let down = false;
  if (d.mode !== bond.mode) {
    const slaves = [...scope.live.values()].filter((s) => s.master === bond.name).map((s) => s.ifname);
    if (slaves.length > 0) {
      scope.refusals.add(
        `${what} (${bond.source})`,
        `in mode ${String(d.mode)}, the spec says ${bond.mode}: a bond changes mode only without slaves (${slaves.join(' ')})`,
        `ip link del ${bond.name} in a maintenance window, then apply again`,
      );
      return [];
    }
    down = true;
    edits.add(
      `mode ${String(d.mode)} -> ${bond.mode}`,
      ip('link', 'set', 'dev', bond.name, 'down'),
      ip('link', 'set', 'dev', bond.name, 'type', 'bond', 'mode', bond.mode),
    );
  }
  const hash = bond.xmitHashPolicy !== undefined && d.xmit_hash_policy !== bond.xmitHashPolicy;
  if (d.miimon !== bond.miimon || hash)
    edits.add(
      `miimon ${String(d.miimon)} -> ${bond.miimon}${hash ? `, xmit_hash_policy ${String(d.xmit_hash_policy)} -> ${bond.xmitHashPolicy}` : ''}`,
      bondOptions(bond),
    );
  for (const s of bond.slaves)
    if (scope.live.get(s)?.master !== bond.name) edits.add(`+ slave ${s}`, enslave(s, bond.name));
  if (bond.primary !== undefined && d.primary !== bond.primary)
    edits.add(`primary ${String(d.primary ?? '(none)')} -> ${bond.primary}`, ...primary);
  aliasMtuUp(edits, down ? { ...l, flags: [] } : l, bond, true);
  return edits.change(what, bond.source);
}

function vlanChange(vlan: VlanPlan, scope: LinkScope): Change[] {
  const l = scope.live.get(vlan.name);
  const what = `vlan ${vlan.name}`;
  const loose = vlan.looseBinding ? ['loose_binding', 'on'] : [];
  if (l === undefined)
    return [
      change(
        'links',
        'add',
        what,
        [
          ip(
            'link',
            'add',
            'link',
            vlan.parent,
            'name',
            vlan.name,
            'type',
            'vlan',
            'id',
            String(vlan.id),
            ...loose,
          ),
          aliasCommand(vlan),
          mtuUp(vlan),
        ],
        { detail: `id ${vlan.id} on ${vlan.parent}`, source: vlan.source },
      ),
    ];
  const edits = new Edits();
  // As network.sh: a link of the VLAN's name is taken as it (a veth stands in for it in tests).
  if (kindOf(l) === 'vlan') {
    const d = data(l);
    if (d.id !== vlan.id || l.link !== vlan.parent) {
      scope.refusals.add(
        `${what} (${vlan.source})`,
        `is VLAN ${String(d.id)} on ${l.link ?? '?'}, the spec says ${vlan.id} on ${vlan.parent}`,
        `ip link del ${vlan.name} (its traffic stops until apply makes it again), then apply again`,
      );
      return [];
    }
    const flags = (d.flags as readonly string[] | undefined) ?? [];
    if (vlan.looseBinding && !flags.includes('LOOSE_BINDING'))
      edits.add('loose_binding off -> on', ip('link', 'set', 'dev', vlan.name, 'type', 'vlan', ...loose));
  }
  aliasMtuUp(edits, l, vlan, true);
  return edits.change(what, vlan.source);
}

/**
 * convergent's links the plan no longer has (their alias says they are convergent's), deleted
 * bridges first, then VLANs, then bonds; one with a port or VLAN that is not convergent's is refused.
 */
export function staleLinks(scope: LinkScope): Change[] {
  const ours = (name: string) => {
    const l = scope.live.get(name);
    return scope.desired.has(name) || (l !== undefined && isOwned(l));
  };
  const stale = [...scope.live.values()].filter((l) => isOwned(l) && !scope.desired.has(l.ifname));
  const rank = (l: LiveLink) => ['bridge', 'vlan', 'bond'].indexOf(kindOf(l) ?? '') >>> 0;
  return stale
    .sort((a, b) => rank(a) - rank(b))
    .flatMap((l) => {
      const on = [...scope.live.values()].filter(
        (d) => d.master === l.ifname || (kindOf(d) === 'vlan' && d.link === l.ifname),
      );
      const recorded = scope.recorded[l.ifname] ?? [];
      const foreign = on.filter((d) => !ours(d.ifname) && !recorded.includes(d.ifname)).map((d) => d.ifname);
      const what = `${kindOf(l) ?? 'link'} ${l.ifname}`;
      if (foreign.length > 0) {
        scope.refusals.add(
          `${what} (${l.ifalias})`,
          `no longer in the spec, but ${foreign.join(' ')} ${foreign.length === 1 ? 'is' : 'are'} not convergent's and still on it`,
          `unplug ${foreign.map((f) => `ip link set dev ${f} nomaster`).join('; ')} (or put ${l.ifname} back in the spec), then apply again`,
        );
        return [];
      }
      const gone = `ip link del ${l.ifname} 2>/dev/null || ! ip link show dev ${l.ifname} >/dev/null 2>&1`;
      return [change('links', 'delete', what, [sh(gone)], { detail: 'no longer in the spec' })];
    });
}
