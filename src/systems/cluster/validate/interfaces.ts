// The nodes' interfaces (seed 003): bonds over NICs of their own, VLANs on a NIC or bond that
// exists, MTUs that fit what carries them, and an uplink bridge that never holds two physical NICs
// side by side ("Do not bridge the physical interfaces": bond them). Checked on every node's merged
// set; a problem the cluster's interfaces have is said once.
import type { SpecPath } from '../../../input/problem.ts';
import type { ClusterSpec } from '../schema.ts';
import type { Report } from './common.ts';
import {
  bondOf,
  type Declared,
  declaredUnder,
  exists,
  kindOf,
  type LinkSet,
  mtuMeant,
  mtuOf,
  onEveryNode,
  VLAN_NAME,
  vlanOf,
} from './links.ts';

export function checkInterfaces(spec: ClusterSpec, report: Report): void {
  onEveryNode(spec, report, (set, r) => {
    for (const d of set.interfaces.values()) {
      if (d.spec.bond && d.spec.vlan)
        r(
          [...d.path, 'vlan'],
          `interface ${d.name} is both a bond and a VLAN`,
          'keep one of "bond:" and "vlan:"',
        );
      else if (d.spec.bond) checkBond(set, d, r);
      else if (kindOf(set, d.name) === 'vlan') checkVlan(set, d, r);
    }
    checkUplinkPorts(set, r);
  });
}

/** Slaves that are NICs, listed once; primary and xmitHashPolicy where the mode has them; one MTU. */
function checkBond(set: LinkSet, d: Declared, report: Report): void {
  const bond = d.spec.bond;
  if (!bond) return;
  const base = [...d.path, 'bond'];
  if (VLAN_NAME.test(d.name))
    report(d.path, `bond ${d.name} has the name of a VLAN (PARENT.ID)`, 'rename it, e.g. to bond0', true);
  bond.slaves.forEach((slave, i) => {
    const path = [...base, 'slaves', i];
    if (slave === d.name)
      report(path, `bond ${d.name} cannot be its own slave`, 'list its NICs, e.g. [eno1, eno2]');
    else if (bond.slaves.indexOf(slave) < i)
      report(path, `${slave} is listed twice among bond ${d.name}'s slaves`, 'list each NIC once');
    else if (kindOf(set, slave) !== 'nic')
      report(
        path,
        `${slave} is a ${kindOf(set, slave) === 'bond' ? 'bond' : 'VLAN'}: a bond's slaves are NICs`,
        kindOf(set, slave) === 'bond'
          ? `list ${slave}'s NICs here instead, in one bond`
          : `list the NIC itself, e.g. ${vlanOf(set, slave)?.parent ?? 'eno1'}`,
      );
  });
  checkSlaveMtus(set, d, report);
  if (bond.primary !== undefined) {
    if (bond.mode !== 'active-backup')
      report(
        [...base, 'primary'],
        `primary applies to active-backup bonds; an ${bond.mode} bond sends on all its slaves at once`,
        'remove "primary", or write mode: active-backup',
      );
    else if (!bond.slaves.includes(bond.primary))
      report(
        [...base, 'primary'],
        `primary ${bond.primary} is not one of bond ${d.name}'s slaves (${bond.slaves.join(', ')})`,
        `write primary: ${bond.slaves[0]}`,
      );
  }
  if (bond.xmitHashPolicy !== undefined && bond.mode !== '802.3ad')
    report(
      [...base, 'xmitHashPolicy'],
      `xmitHashPolicy spreads flows over the slaves of an 802.3ad bond; an ${bond.mode} bond sends on one slave`,
      'remove "xmitHashPolicy", or write mode: 802.3ad',
    );
}

/**
 * Enslaving sets a slave's MTU to the bond's (the kernel's bond_enslave): another one is a mistake,
 * said once at the bond when it sets none (its slaves' is what was meant), else at each slave.
 */
function checkSlaveMtus(set: LinkSet, bond: Declared, report: Report): void {
  const bondMtu = mtuOf(set, bond.name);
  const off = (bond.spec.bond?.slaves ?? [])
    .filter((slave) => kindOf(set, slave) === 'nic' && bondsOf(set, slave) === 1)
    .map((slave) => ({ slave, own: set.interfaces.get(slave) }))
    .filter(({ own }) => own?.spec.mtu !== undefined && own.spec.mtu !== bondMtu);
  const first = off[0]?.own?.spec.mtu;
  const slaves = off.map((o) => o.slave).join(', ');
  if (bond.spec.mtu === undefined && first !== undefined && first > bondMtu) {
    report(
      bond.path,
      `bond ${bond.name} sets no MTU, so it has Ethernet's (${bondMtu}), and its slaves ${slaves} have ${first}; enslaving sets a slave's MTU to the bond's`,
      `write mtu: ${first} on bond ${bond.name}`,
      true,
    );
    return;
  }
  // A node's own bond over the cluster's NICs: the node's MTU is the odd one, said there once.
  if (first !== undefined && bond.path[0] === 'nodes' && off.every((o) => o.own?.path[0] === 'interfaces')) {
    report(
      [...bond.path, 'mtu'],
      `bond ${bond.name}'s MTU ${bondMtu} differs from that of its slaves ${slaves} (${first}); enslaving sets a slave's MTU to the bond's`,
      `write mtu: ${first} on bond ${bond.name}, or give this node its own ${slaves} with mtu: ${bondMtu}`,
    );
    return;
  }
  for (const { slave, own } of off) {
    const mtu = own?.spec.mtu as number;
    report(
      [...(own?.path ?? []), 'mtu'],
      `${slave}'s MTU ${mtu} is ${mtu < bondMtu ? 'below' : 'above'} that of its bond ${bond.name} (${bondMtu}); enslaving sets a slave's MTU to the bond's`,
      mtu < bondMtu
        ? `write mtu: ${bondMtu} on ${slave}, or leave its MTU out`
        : `write mtu: ${mtu} on bond ${bond.name} too, or leave ${slave}'s out`,
    );
  }
}

/** A VLAN: its name and `vlan:` agree, on a NIC or bond that exists, no larger than its parent. */
function checkVlan(set: LinkSet, d: Declared, report: Report): void {
  const named = VLAN_NAME.exec(d.name);
  const explicit = d.spec.vlan;
  if (named && explicit && (named[1] !== explicit.parent || Number(named[2]) !== explicit.id)) {
    report(
      [...d.path, 'vlan'],
      `the name ${d.name} says VLAN ${named[2]} on ${named[1]}, and "vlan:" says VLAN ${explicit.id} on ${explicit.parent}`,
      `rename it ${explicit.parent}.${explicit.id}, or remove "vlan:" (the name says it)`,
    );
    return;
  }
  const vlan = vlanOf(set, d.name);
  if (!vlan) return;
  const at: SpecPath = explicit ? [...d.path, 'vlan', 'parent'] : d.path;
  if (!explicit && (vlan.id < 1 || vlan.id > 4094)) {
    report(
      d.path,
      `${d.name} names VLAN ${vlan.id} of ${vlan.parent}; VLAN ids run from 1 to 4094`,
      `rename it, e.g. to ${vlan.parent}.100`,
      true,
    );
    return;
  }
  if (!checkParent(set, d.name, vlan, at, !explicit, report)) return;
  const mtu = d.spec.mtu;
  const parentMtu = mtuMeant(set, vlan.parent);
  if (mtu !== undefined && mtu > parentMtu)
    report(
      [...d.path, 'mtu'],
      `VLAN ${d.name}'s MTU ${mtu} is above that of its parent ${vlan.parent} (${parentMtu}), which cannot carry its frames`,
      `write mtu: ${mtu} on ${vlan.parent} ${declaredUnder(set, vlan.parent)}, or lower this VLAN's to ${parentMtu}`,
    );
}

/** A VLAN's parent: a NIC or bond the node has, not a bond's slave (the bond would not see its frames). */
function checkParent(
  set: LinkSet,
  name: string,
  vlan: { parent: string; id: number },
  at: SpecPath,
  atKey: boolean,
  report: Report,
): boolean {
  const { parent, id } = vlan;
  if (parent === name || !exists(set, parent)) {
    report(
      at,
      `VLAN ${name} sits on ${parent === name ? 'itself' : `${parent}, which is no interface the node has`}`,
      parent === name
        ? `name the NIC or bond it sits on: vlan: { parent: bond0, id: ${id} }`
        : `declare ${parent} under interfaces: (a NIC: ${parent}: {}), or put the VLAN on one that is`,
      atKey,
    );
    return false;
  }
  if (kindOf(set, parent) === 'vlan') {
    const grand = vlanOf(set, parent)?.parent;
    report(
      at,
      `VLAN ${name} sits on ${parent}, itself a VLAN; a VLAN sits on a NIC or a bond`,
      grand === undefined || grand === name || kindOf(set, grand) === 'vlan'
        ? 'put it on a NIC or a bond, e.g. bond0'
        : `put it on ${grand}: ${grand}.${id}`,
      atKey,
    );
    return false;
  }
  const bond = bondOf(set, parent);
  if (bond !== undefined) {
    report(
      at,
      `VLAN ${name} sits on ${parent}, a slave of bond ${bond}; tagged frames on a slave bypass the bond`,
      `put the VLAN on the bond: ${bond}.${id}`,
      atKey,
    );
    return false;
  }
  return true;
}

/** Two physical NICs in one bridge loop through the switch: the seed's "bond them" (seed 003). */
function checkUplinkPorts(set: LinkSet, report: Report): void {
  const nics = set.uplinkPorts.filter((p) => kindOf(set, p) === 'nic' && bondOf(set, p) === undefined);
  if (nics.length < 2) return;
  const bond = freeBondName(set);
  report(
    set.portsPath,
    `the uplink bridge ${set.uplinkBridge} has ${nics.length} physical NICs as ports (${nics.join(', ')}): ` +
      'side by side on one switch they form a loop; do not bridge the physical interfaces, bond them',
    `under interfaces: ${bond}: { bond: { slaves: [${nics.join(', ')}] } }, and ports: [${bond}]`,
  );
}

function bondsOf(set: LinkSet, nic: string): number {
  return [...set.interfaces.values()].filter((d) => d.name !== nic && d.spec.bond?.slaves.includes(nic))
    .length;
}

function freeBondName(set: LinkSet): string {
  let i = 0;
  while (set.interfaces.has(`bond${i}`) || set.uplinkPorts.includes(`bond${i}`)) i++;
  return `bond${i}`;
}
