// The CGNAT router's links, addresses, routes and rules, for either backend, as ip batch lines.
//   vrf    an l3mdev VRF per tenant and one for the uplink (the demo's layout): tenants reach the
//          uplink by "default dev <uplink vrf>", the uplink reaches a tenant's IPv6 and routed public
//          prefixes by "dev <tenant vrf>"; rules: l3mdev 1000, l3mdev unreachable 2000, local 32765
//   netns  a namespace per tenant holding its bridge and gateways, joined to the router's own
//          namespace (the uplink) by a veth named after the tenant; NAT happens once, in the router
// Either way a NAT reply is routed by its mark: ip rule fwmark T/M lookup <tenant table>, T the
// tenant's index spread into marks.mask M, so the rule ignores other software's bits (F36).
// Names are always written after `name`/`dev`: "up" is an ip keyword (`ip link add up type vrf` fails).

import { formatCidr, networkOf } from '../../../util/ip.ts';
import { formatIPv4, formatPrefix } from '../../../util/ipv4.ts';
import type { Cgnat, Tenant } from '../model.ts';
import type { IpBatch, IpCommand } from '../plan.ts';

/** The uplink VRF's table; tenant T's is UPLINK_TABLE + T. */
export const UPLINK_TABLE = 1000;
export const tenantTable = (t: Tenant) => UPLINK_TABLE + t.index;
/** Before the kernel's l3mdev rule (1000): a NAT reply leaves the uplink VRF for its tenant's. */
const FWMARK_PREF = 900;
/** The tenant end of the netns backend's transit veth. */
export const TRANSIT = 'transit';

/** 0x1, as ip rule prints a mark. */
const hex = (n: number) => `0x${n.toString(16)}`;
const cmd = (source: string, ...lines: string[]): IpCommand[] => lines.map((line) => ({ line, source }));
const v4 = (t: Tenant) => t.gateways.find((g) => g.family === 4);
const v6 = (t: Tenant) => t.gateways.find((g) => g.family === 6);

/** Transit addresses of tenant T (netns): 169.254.0.0/16 in /30s, and fixed link-local IPv6. */
export function transit(t: Tenant): { router: string; tenant: string; router6: string; tenant6: string } {
  const base = 4 * t.index;
  const at = (n: number) => `169.254.${(base + n) >> 8}.${(base + n) & 255}`;
  return { router: at(1), tenant: at(2), router6: 'fe80::1', tenant6: 'fe80::2' };
}

function uplinkCommands(c: Cgnat, vrf: string | undefined): IpCommand[] {
  const dev = c.uplink.interface;
  const inVrf = vrf ? ` vrf ${vrf}` : '';
  return [
    ...(vrf
      ? cmd(
          `uplink.vrf: the uplink's own VRF, table ${UPLINK_TABLE}`,
          `link add name ${vrf} type vrf table ${UPLINK_TABLE}`,
          `link set dev ${vrf} up`,
          `link set dev ${dev} master ${vrf}`,
        )
      : []),
    ...cmd('uplink.interface', `link set dev ${dev} up`),
    ...c.uplink.addresses.flatMap((a) =>
      cmd('uplink.addresses', `address replace ${formatCidr(a)} dev ${dev}`),
    ),
    // The provider routes the pool to the router: what no mapping claims is dropped here, not sent
    // back toward the provider's default route (a loop until the TTL runs out).
    ...c.nat.pool
      .filter((p) => !c.uplink.addresses.some((a) => a.text === formatIPv4(p)))
      .flatMap((p) => cmd('nat.pool', `route replace blackhole ${formatIPv4(p)}/32${inVrf}`)),
    ...c.uplink.gateways.flatMap((g) =>
      cmd(
        'uplink.gateways',
        `route replace ${g.family === 4 ? '0.0.0.0/0' : '::/0'} via ${g.text} dev ${dev}${inVrf}`,
      ),
    ),
  ];
}

/** Rules of one family: fwmark per tenant, and with VRFs the demo's layout. */
function rules(c: Cgnat, family: 4 | 6): IpCommand[] {
  const out: IpCommand[] = c.tenants.flatMap((t) =>
    cmd(
      `tenants.${t.name}: NAT replies (marked ${hex(t.mark)} under ${hex(c.marks.mask)}) go to the tenant's table`,
      `rule add pref ${FWMARK_PREF} fwmark ${hex(t.mark)}/${hex(c.marks.mask)} lookup ${tenantTable(t)}`,
    ),
  );
  if (c.backend === 'vrf')
    out.push(
      ...cmd(
        `backend vrf: a failed VRF lookup never falls through to the main table (IPv${family})`,
        'rule add pref 2000 l3mdev unreachable',
      ),
    );
  // A subscriber may have one of the router's own addresses (the demo's 100.64.0.1 is the uplink's
  // too): its de-NATed replies must meet the fwmark rules before the local table takes them.
  out.push(
    ...cmd(
      `the local table after the tenants' rules (IPv${family})`,
      'rule add pref 32765 lookup local',
      'rule del pref 0 lookup local',
    ),
  );
  return out;
}

export function vrfBatches(c: Cgnat): IpBatch[] {
  const up = c.uplink.vrf;
  const commands: IpCommand[] = [...uplinkCommands(c, up)];
  for (const t of c.tenants) {
    const at = `tenants.${t.name}`;
    const six = v6(t);
    commands.push(
      ...cmd(
        `${at}: VRF ${t.name}, table ${tenantTable(t)}, and the tenant bridge enslaved to it`,
        `link add name ${t.name} type vrf table ${tenantTable(t)}`,
        `link set dev ${t.name} up`,
        `link add name ${t.bridge} type bridge`,
        `link set dev ${t.bridge} master ${t.name}`,
        `link set dev ${t.bridge} up`,
      ),
      ...t.gateways.flatMap((g) => cmd(`${at}.gateways`, `address replace ${formatCidr(g)} dev ${t.bridge}`)),
      ...cmd(
        `${at}: everything else leaves through the uplink VRF`,
        `route replace 0.0.0.0/0 dev ${up} vrf ${t.name}`,
        ...(six ? [`route replace ::/0 dev ${up} vrf ${t.name}`] : []),
      ),
      ...(six
        ? cmd(
            `${at}.gateways: the tenant's IPv6 is routed, not NATed`,
            `route replace ${formatCidr(networkOf(six))} dev ${t.name} vrf ${up}`,
          )
        : []),
      ...t.routes.flatMap((r) =>
        cmd(
          `${at}.routes: ${formatPrefix(r.to)} reaches ${r.client} without NAT`,
          `route replace ${formatPrefix(r.to)} dev ${t.name} vrf ${up}`,
          `route replace ${formatPrefix(r.to)} dev ${t.bridge} vrf ${t.name}`,
        ),
      ),
    );
  }
  return [
    { file: 'network.ip', commands: [...commands, ...rules(c, 4)] },
    { file: 'rules6.ip', family: 6, commands: rules(c, 6) },
  ];
}

export function netnsBatches(c: Cgnat, namespaceOf: (t: Tenant) => string): IpBatch[] {
  const router: IpCommand[] = [...uplinkCommands(c, undefined)];
  const tenants: IpBatch[] = [];
  for (const t of c.tenants) {
    const at = `tenants.${t.name}`;
    const ns = namespaceOf(t);
    const a = transit(t);
    const four = v4(t);
    const six = v6(t);
    router.push(
      ...cmd(
        `${at}: the tenant's namespace ${ns}, joined to the router by veth ${t.name} (its end: ${TRANSIT})`,
        `link add name ${t.name} type veth peer name ${TRANSIT} netns ${ns}`,
        `link set dev ${t.name} up`,
        `address replace ${a.router}/30 dev ${t.name}`,
        `address replace ${a.router6}/64 dev ${t.name}`,
      ),
      ...cmd(
        `${at}: NAT replies (marked ${hex(t.mark)}) go back through the tenant's veth`,
        `route replace 0.0.0.0/0 via ${a.tenant} dev ${t.name} table ${tenantTable(t)}`,
      ),
      ...(six
        ? cmd(
            `${at}.gateways: the tenant's IPv6 is routed, not NATed`,
            `route replace ${formatCidr(networkOf(six))} via ${a.tenant6} dev ${t.name}`,
          )
        : []),
      ...t.routes.flatMap((r) =>
        cmd(
          `${at}.routes: ${formatPrefix(r.to)} reaches ${r.client} without NAT`,
          `route replace ${formatPrefix(r.to)} via ${a.tenant} dev ${t.name}`,
        ),
      ),
    );
    tenants.push({
      file: `netns/${t.name}.ip`,
      namespace: ns,
      commands: [
        ...cmd(
          `${at}: the tenant's side of its veth to the router`,
          'link set dev lo up',
          `link set dev ${TRANSIT} up`,
          `address replace ${a.tenant}/30 dev ${TRANSIT}`,
          `address replace ${a.tenant6}/64 dev ${TRANSIT}`,
        ),
        ...cmd(`${at}.bridge`, `link add name ${t.bridge} type bridge`, `link set dev ${t.bridge} up`),
        ...t.gateways.flatMap((g) =>
          cmd(`${at}.gateways`, `address replace ${formatCidr(g)} dev ${t.bridge}`),
        ),
        ...cmd(
          `${at}: everything else goes to the router`,
          ...(four ? [`route replace 0.0.0.0/0 via ${a.router} dev ${TRANSIT}`] : []),
          ...(six ? [`route replace ::/0 via ${a.router6} dev ${TRANSIT}`] : []),
        ),
        ...t.routes.flatMap((r) =>
          cmd(
            `${at}.routes: ${formatPrefix(r.to)} is on the bridge, at ${r.client}`,
            `route replace ${formatPrefix(r.to)} dev ${t.bridge}`,
          ),
        ),
      ],
    });
  }
  // `netns add` in a file of its own, run where the namespaces are to be seen: under `ip -n` (the
  // lab's router) its bind mount would stay in that command's private mount namespace.
  const namespaces: IpBatch = {
    file: 'namespaces.ip',
    commands: c.tenants.flatMap((t) =>
      cmd(`tenants.${t.name}: the tenant's own namespace`, `netns add ${namespaceOf(t)}`),
    ),
    global: true,
  };
  return [
    namespaces,
    { file: 'network.ip', commands: [...router, ...rules(c, 4)] },
    { file: 'rules6.ip', family: 6, commands: rules(c, 6) },
    ...tenants,
  ];
}
