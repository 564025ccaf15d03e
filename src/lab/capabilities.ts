// What the running kernel offers the lab, probed by creating each device type in a lab namespace
// (never in the machine's own): the lab models a pipe named eth1.100 as a real 802.1Q subinterface
// where it can, and says what the kernel lacks and the way out (--vm).
import type { Runner } from './run.ts';

export const CAPABILITIES = {
  vlan: { what: '802.1Q VLAN subinterfaces', module: '8021q', add: ['type', 'vlan', 'id', '4094'] },
  vrf: { what: 'VRF devices', module: 'vrf', add: ['type', 'vrf', 'table', '4094'] },
  bond: { what: 'bonding', module: 'bonding', add: ['type', 'bond'] },
} as const;

export type Capability = keyof typeof CAPABILITIES;

/** Tries each device type in namespace `ns`, which must hold an interface named `parent`. */
export function probeCapabilities(runner: Runner, ns: string, parent: string): Set<Capability> {
  const have = new Set<Capability>();
  for (const [name, c] of Object.entries(CAPABILITIES) as [Capability, (typeof CAPABILITIES)[Capability]][]) {
    const dev = `probe-${name}`;
    const link = name === 'vlan' ? ['link', parent] : [];
    if (runner(['ip', '-n', ns, 'link', 'add', ...link, 'name', dev, ...c.add]).code === 0) {
      have.add(name);
      runner(['ip', '-n', ns, 'link', 'del', dev]);
    }
  }
  return have;
}

/** What the lab says about the kernel it runs on, and the way to the missing device types. */
export function describeCapabilities(have: ReadonlySet<Capability>): string {
  const names = (keys: Capability[]) => keys.map((k) => CAPABILITIES[k].what).join(', ');
  const all = Object.keys(CAPABILITIES) as Capability[];
  const lacking = all.filter((k) => !have.has(k));
  const offered = all.filter((k) => have.has(k));
  if (lacking.length === 0) return `this kernel offers ${names(offered)}`;
  return `this kernel ${offered.length ? `offers ${names(offered)} but ` : ''}has no ${names(lacking)}; "lab test --vm" runs the lab on a Debian kernel that has them`;
}
