// Links, addresses and routes -> an ifupdown file for /etc/network/interfaces.d/, as Debian,
// Proxmox and Ganeti hosts write theirs: one `auto`/`iface` stanza per link, bonds through
// ifenslave's bond-* options, bridges through bridge-utils' bridge-* options, VLANs named
// PARENT.ID (ifupdown creates those itself). `ifup -a` brings a bare node to what network.sh makes.
import type { BridgePlan, HostPlan, LinkPlan } from './plan.ts';
import { linkAlias, routeCommand, routeDeleteCommand, ruleCommand, ruleDeleteCommand } from './routing.ts';
import { sysctlKey } from './sysctl.ts';

export function renderInterfaces(plan: HostPlan, header: readonly string[]): string {
  const out = header.map((h) => `# ${h}`);
  for (const link of plan.links) out.push('', ...withRouting(plan, link.name, linkStanza(link)));
  for (const bridge of plan.bridges) out.push('', ...bridgeStanzas(plan, bridge));
  return `${out.join('\n')}\n`;
}

const option = (line: string) => `    ${line}`;
const mtu = (m: number | undefined) => (m === undefined ? [] : [option(`mtu ${m}`)]);
/** The alias apply knows convergent's links by, as network.sh sets it. */
const alias = (link: { name: string; source: string }, when = 'post-up') =>
  option(`${when} ip link set dev ${link.name} alias '${linkAlias(link.source)}'`);

function linkStanza(link: LinkPlan): string[] {
  const head = [`# ${link.source}`, `auto ${link.name}`, `iface ${link.name} inet manual`];
  switch (link.kind) {
    case 'nic':
      return [...head, ...mtu(link.mtu)];
    case 'bond':
      return [
        ...head,
        option(`bond-slaves ${link.slaves.join(' ')}`),
        option(`bond-mode ${link.mode}`),
        option(`bond-miimon ${link.miimon}`),
        ...(link.primary === undefined ? [] : [option(`bond-primary ${link.primary}`)]),
        ...(link.xmitHashPolicy === undefined
          ? []
          : [option(`bond-xmit-hash-policy ${link.xmitHashPolicy}`)]),
        ...mtu(link.mtu),
        alias(link),
      ];
    case 'vlan':
      return [
        ...head,
        option(`vlan-raw-device ${link.parent}`),
        // ifupdown makes a VLAN named PARENT.ID itself; another name needs the command.
        ...(link.name === `${link.parent}.${link.id}`
          ? []
          : [
              option(
                `pre-up ip link show dev ${link.name} >/dev/null 2>&1 || ip link add link ${link.parent} name ${link.name} type vlan id ${link.id}`,
              ),
            ]),
        ...(link.looseBinding
          ? [option(`post-up ip link set dev ${link.name} type vlan loose_binding on`)]
          : []),
        ...mtu(link.mtu),
        alias(link),
      ];
  }
}

/**
 * A link that carries a routed network (its routes and rules name it): its addresses (the router
 * node's), then post-up lines for its routes, rules and its own sysctls. ifupdown deletes a VLAN on
 * ifdown and makes it anew on ifup: its routes, and the sysctls the sysctl.d file set once, would be
 * gone; the rules stay, and `unreachable default` in each table keeps lookups from falling through
 * while the device's routes are gone.
 */
function withRouting(plan: HostPlan, dev: string, stanza: string[]): string[] {
  const routes = plan.routes.filter((r) => (r.dev ?? r.upWith) === dev);
  const rules = plan.rules.filter((r) => r.upWith === dev);
  if (routes.length === 0 && rules.length === 0) return stanza;
  const addresses = plan.addresses.filter((a) => a.dev === dev);
  const v4 = addresses.filter((a) => !a.cidr.includes(':'));
  const v6 = addresses.filter((a) => a.cidr.includes(':'));
  const out = stanza.map((line) =>
    v4.length > 0 && line === `iface ${dev} inet manual` ? `iface ${dev} inet static` : line,
  );
  for (const a of v4) out.push(`# ${a.source}`, option(`address ${a.cidr}`));
  const sysctls = plan.sysctls.filter((c) => c.key.length === 5 && c.key[3] === dev);
  for (const c of sysctls)
    out.push(`# ${c.source}`, option(`post-up sysctl -q -w ${sysctlKey(c.key)}=${c.value}`));
  for (const r of routes) out.push(`# ${r.source}`, option(`post-up ${routeCommand(r)}`));
  for (const r of rules) out.push(`# ${r.source}`, option(`post-up ${ruleCommand(r)}`));
  for (const a of v6) out.push('', `# ${a.source}`, `iface ${dev} inet6 static`, option(`address ${a.cidr}`));
  return out;
}

/** The bridge's stanza with its first address and routes; one more stanza per further address. */
function bridgeStanzas(plan: HostPlan, bridge: BridgePlan): string[] {
  const [first, ...more] = plan.addresses.filter((a) => a.dev === bridge.name);
  const out = [`# ${bridge.source}`, `auto ${bridge.name}`];
  out.push(`iface ${bridge.name} inet ${first ? 'static' : 'manual'}`);
  // Comments stand on lines of their own, at the start: ifupdown has no end-of-line comments.
  if (first) out.push(`# ${first.source}`, option(`address ${first.cidr}`));
  // Not ifupdown's `gateway`: its route would not carry convergent's protocol, as network.sh's does.
  for (const r of plan.routes.filter((r) => (r.dev ?? r.upWith) === bridge.name))
    out.push(`# ${r.source}`, option(`up ${routeCommand(r)}`));
  // Policy rules brought up with a bridge (seed 004's steering into an appliance).
  const rules = plan.rules.filter((r) => r.upWith === bridge.name);
  for (const r of rules) out.push(`# ${r.source}`, option(`up ${ruleCommand(r)}`));
  // ... and taken down with it, with the routes that have no device to go with (the steering table's
  // unreachable default): an `ifdown` leaves no steering behind (the routes via the appliance's
  // bridge go with that bridge).
  if (rules.length > 0)
    out.push('# the rules and device-less routes above, removed when the bridge goes down');
  for (const r of rules) out.push(option(`down ${ruleDeleteCommand(r.family, r.pref)}`));
  for (const r of plan.routes.filter((r) => r.dev === undefined && r.upWith === bridge.name))
    out.push(option(`down ${routeDeleteCommand(r)}`));
  out.push(option(`bridge-ports ${bridge.ports.length > 0 ? bridge.ports.join(' ') : 'none'}`));
  out.push(option(`bridge-stp ${bridge.stp ? 'on' : 'off'}`));
  if (bridge.forwardDelay !== undefined) out.push(option(`bridge-fd ${bridge.forwardDelay}`));
  if (bridge.mac) out.push(option(`hwaddress ${bridge.mac}`));
  out.push(...mtu(bridge.mtu));
  // What bridge-utils has no option for: the kernel's bridge options, through ip, both always set
  // as network.sh sets them, so that either file leaves the same bridge.
  const call = bridge.callIptables ? 1 : 0;
  const snooping = bridge.multicastSnooping === false ? 0 : 1;
  out.push(
    option(
      `up ip link set dev ${bridge.name} type bridge nf_call_iptables ${call} mcast_snooping ${snooping}`,
    ),
    alias(bridge, 'up'),
  );
  // Further addresses: ifupdown applies every stanza of an interface, in order (primary first).
  for (const a of more)
    out.push('', `# ${a.source}`, `iface ${bridge.name} inet static`, option(`address ${a.cidr}`));
  return out;
}
