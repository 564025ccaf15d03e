// What the running kernel offers the lab, probed by creating each device type in a lab namespace
// (never in the machine's own): the lab models a pipe named eth1.100 as a real 802.1Q subinterface
// where it can, and a spec that needs what the kernel lacks is refused with the way out (--vm).
import type { Runner } from './run.ts';
import { LabError } from './topology.ts';

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

/** Refuses a lab whose spec needs device types this kernel lacks, naming the VM lab. */
export function requireCapabilities(
  needed: readonly { capability: Capability; why: string }[],
  have: ReadonlySet<Capability>,
  kernel: string,
): void {
  const lacking = needed.filter((n) => !have.has(n.capability));
  if (lacking.length === 0) return;
  const list = lacking.map((n) => `${CAPABILITIES[n.capability].what} (${n.why})`).join('; ');
  throw new LabError(
    `this kernel (${kernel}) has no ${list}: run the lab on a Debian kernel that has them with "convergent lab test FILE --vm"`,
  );
}
