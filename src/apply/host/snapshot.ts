// The host's convergent objects as they are, as a part of a Desired: what a rollback applies. Each
// object's source is its alias's spec path (links) or "checkpoint", so the alias comes back the same.
import type { AddressPlan, BridgePlan, LinkPlan, RoutePlan, RulePlan } from '../../host/plan.ts';
import { LINK_ALIAS_PREFIX, MAIN_TABLE } from '../../host/routing.ts';
import type { Desired } from '../desired.ts';
import { type HostRecord, type OwnedAddress, ownedOf } from './addresses.ts';
import { isOwned, kindOf } from './links.ts';
import type { HostLive, LiveLink, LiveRoute, LiveRule } from './read.ts';
import { liveOf, routeKey } from './routes.ts';
import { liveRuleText, planRuleText } from './rules.ts';

const CHECKPOINT = 'checkpoint';
const sourceOf = (l: LiveLink) => l.ifalias?.slice(LINK_ALIAS_PREFIX.length) || CHECKPOINT;
/** A tap's alias is `nic up`'s record ("convergent m=..."): a guest's, never restored as a port. */
const isTap = (l: LiveLink) => l.ifalias?.startsWith('convergent ') === true;

/**
 * convergent's objects as they are, and those the desired plan is about to adopt, as they are: the
 * links it names (their alias as it was), the live addresses of the record or the plan, the routes and
 * rules of another protocol (`others`, read.ts readOthers) that the plan's take over (their protocol).
 */
export function snapshotHost(
  live: HostLive,
  record: HostRecord,
  desired: Pick<Desired, 'links' | 'bridges' | 'addresses' | 'routes' | 'rules'>,
  others: Pick<HostLive, 'routes' | 'rules'>,
): Pick<Desired, 'links' | 'bridges' | 'addresses' | 'routes' | 'rules'> {
  const named = new Set([...desired.links.map((l) => l.name), ...desired.bridges.map((b) => b.name)]);
  const made = (l: LiveLink) => ['bridge', 'bond', 'vlan'].includes(kindOf(l) ?? '');
  const adopted = (l: LiveLink) => !isOwned(l) && !isTap(l) && named.has(l.ifname);
  const mine = live.links.filter((l) => isOwned(l) || (adopted(l) && made(l)));
  const former = (l: LiveLink) => (isOwned(l) ? {} : { formerAlias: l.ifalias ?? '' });
  // Only the ports and slaves the record or the plan gives a link: any other (a guest's vnet0, a
  // tap) is someone else's, and may be gone by the rollback.
  const given = new Map<string, Set<string>>();
  const give = (link: string, ports: readonly string[]) =>
    given.set(link, new Set([...(given.get(link) ?? []), ...ports]));
  for (const [link, ports] of Object.entries(record.ports)) give(link, ports);
  for (const b of desired.bridges) give(b.name, b.ports);
  for (const l of desired.links) if (l.kind === 'bond') give(l.name, l.slaves);
  const portsOf = (l: LiveLink) =>
    live.links
      .filter((p) => p.master === l.ifname && (isOwned(p) || given.get(l.ifname)?.has(p.ifname) === true))
      .map((p) => p.ifname);
  const bridges = mine
    .filter((l) => kindOf(l) === 'bridge')
    .map((l): BridgePlan => ({ ...bridgeOf(l, portsOf(l)), ...former(l) }));
  const links = mine.flatMap((l) => linkOf(l, portsOf(l)).map((p): LinkPlan => ({ ...p, ...former(l) })));
  // The NICs under those, and the plan's: their MTU and up state come back too.
  const under = new Set([
    ...bridges.flatMap((b) => b.ports),
    ...links.flatMap((l) => (l.kind === 'vlan' ? [l.parent] : l.kind === 'bond' ? l.slaves : [])),
    ...live.links.filter((l) => adopted(l) && !made(l)).map((l) => l.ifname),
  ]);
  const nics: LinkPlan[] = live.links
    .filter((l) => under.has(l.ifname) && !isOwned(l) && !isTap(l))
    .map((l) => ({ kind: 'nic', name: l.ifname, mtu: l.mtu, source: CHECKPOINT }));
  const key = (a: OwnedAddress) => `${a.dev} ${a.cidr}`;
  const recorded = new Set(record.addresses.map(key));
  const wanted = new Set(desired.addresses.map((a) => key(ownedOf(a))));
  const addresses: AddressPlan[] = live.addresses
    .filter((a) => recorded.has(key(a)) || wanted.has(key(a)))
    .map((a) => ({ ...a, source: CHECKPOINT, ...(recorded.has(key(a)) ? {} : { adopted: true }) }));
  const routeKeys = new Set(desired.routes.map((r) => routeKey(liveOf(r))));
  const ruleKeys = new Set(desired.rules.map((r) => `${r.family} ${r.pref} ${planRuleText(r)}`));
  const routes = others.routes.filter((r) => routeKeys.has(routeKey(r)));
  const rules = others.rules.filter((r) => ruleKeys.has(`${r.family} ${r.priority} ${liveRuleText(r)}`));
  return {
    links: [...nics, ...links],
    bridges,
    addresses,
    routes: [...live.routes, ...routes].map(routeOf),
    rules: [...live.rules, ...rules].map(ruleOf),
  };
}

function bridgeOf(l: LiveLink, ports: readonly string[]): BridgePlan {
  const d = l.linkinfo?.info_data ?? {};
  return {
    name: l.ifname,
    ...(l.address === undefined ? {} : { mac: l.address }),
    mtu: l.mtu,
    stp: d.stp_state === 1,
    ...(typeof d.forward_delay === 'number' ? { forwardDelay: d.forward_delay / 100 } : {}),
    callIptables: d.nf_call_iptables === 1,
    multicastSnooping: d.mcast_snooping !== 0,
    ports,
    source: sourceOf(l),
  };
}

function linkOf(l: LiveLink, slaves: readonly string[]): LinkPlan[] {
  const d = l.linkinfo?.info_data ?? {};
  switch (kindOf(l)) {
    case 'bond':
      return [
        {
          kind: 'bond',
          name: l.ifname,
          mtu: l.mtu,
          mode: d.mode as 'active-backup' | '802.3ad',
          miimon: Number(d.miimon),
          ...(typeof d.primary === 'string' ? { primary: d.primary } : {}),
          ...(d.mode === '802.3ad' ? { xmitHashPolicy: String(d.xmit_hash_policy) } : {}),
          slaves,
          source: sourceOf(l),
        },
      ];
    case 'vlan': {
      const loose = ((d.flags as readonly string[] | undefined) ?? []).includes('LOOSE_BINDING');
      return [
        {
          kind: 'vlan',
          name: l.ifname,
          mtu: l.mtu,
          parent: l.link ?? '',
          id: Number(d.id),
          ...(loose ? { looseBinding: true } : {}),
          source: sourceOf(l),
        },
      ];
    }
    default:
      return [];
  }
}

function routeOf(r: LiveRoute): RoutePlan {
  return {
    to: r.dst,
    ...(r.type === 'unreachable' ? { type: 'unreachable' as const } : {}),
    ...(r.gateway === undefined ? {} : { via: r.gateway }),
    ...(r.dev === undefined ? {} : { dev: r.dev }),
    metric: r.metric,
    ...(r.table === MAIN_TABLE ? {} : { table: r.table }),
    ...(r.family === 6 ? { family: 6 as const } : {}),
    ...(r.protocol === undefined ? {} : { protocol: r.protocol }),
    source: CHECKPOINT,
  };
}

function ruleOf(r: LiveRule): RulePlan {
  const match: RulePlan['match'] =
    r.iif !== undefined
      ? { kind: 'iif', value: r.iif }
      : r.src !== undefined && r.src !== 'all'
        ? { kind: 'from', value: `${r.src}/${r.srclen ?? (r.family === 4 ? 32 : 128)}` }
        : r.fwmark !== undefined
          ? { kind: 'fwmark', value: `${r.fwmark}/${r.fwmask ?? '0xffffffff'}` }
          : { kind: 'to', value: `${r.dst}/${r.dstlen ?? (r.family === 4 ? 32 : 128)}` };
  const to = match.kind !== 'to' && r.dst !== undefined && r.dst !== 'all' ? r.dst : undefined;
  return {
    family: r.family,
    pref: r.priority,
    match,
    ...(to === undefined ? {} : { to: `${to}/${r.dstlen ?? (r.family === 4 ? 32 : 128)}` }),
    table: Number(r.table),
    upWith: '',
    ...(r.protocol === undefined ? {} : { protocol: r.protocol }),
    source: CHECKPOINT,
  };
}
