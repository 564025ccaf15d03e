// Pools of VLANs for private networks (Synnefo's PHYSICAL_VLAN, F24): VLANs that exist, a trunk
// every node has, ranges and bridge names of their own, and slots within the pool, each taken once.
import { plural } from '../../../util/plural.ts';
import type { BridgedNetwork } from '../model.ts';
import type { ClusterSpec } from '../schema.ts';
import { checkDevice, checkTrunkOn } from './bridged.ts';
import type { Report } from './common.ts';
import { onEveryNode } from './links.ts';

export function checkPools(spec: ClusterSpec, bridged: readonly BridgedNetwork[], report: Report): void {
  const pools = Object.entries(spec.vlanPools);
  pools.forEach(([name, pool], i) => {
    const base = ['vlanPools', name];
    const last = pool.base + pool.size;
    if (last > 4094)
      report(
        [...base, 'size'],
        `pool ${name} runs from VLAN ${pool.base + 1} to ${last}; VLAN ids end at 4094`,
        `write size: ${Math.max(1, 4094 - pool.base)}, or a lower base`,
      );
    for (const [other, o] of pools.slice(0, i)) {
      if (o.bridgePrefix === pool.bridgePrefix)
        report(
          [...base, 'bridgePrefix'],
          `pool ${other} already names its bridges ${pool.bridgePrefix}1, ${pool.bridgePrefix}2, …`,
          `give pool ${name} a bridgePrefix of its own, e.g. bridgePrefix: ${pool.bridgePrefix}b`,
        );
      if (o.trunk === pool.trunk && pool.base < o.base + o.size && o.base < last)
        report(
          [...base, 'base'],
          `pools ${other} and ${name} share ${vlanRange(Math.max(o.base, pool.base) + 1, Math.min(o.base + o.size, last))} on trunk ${pool.trunk}`,
          `start pool ${name} after pool ${other}: base: ${o.base + o.size}`,
        );
    }
    onEveryNode(spec, report, (set, r) => checkTrunkOn(set, pool.trunk, true, [...base, 'trunk'], r));
  });
  checkSlots(spec, bridged, report);
  checkVlansInPools(spec, report);
}

/** Pinned slots within the pool and taken once; enough slots for the networks that take one. */
function checkSlots(spec: ClusterSpec, bridged: readonly BridgedNetwork[], report: Report): void {
  const pinned = new Map<string, string>(); // "prv 3" -> network
  for (const [name, net] of Object.entries(spec.networks)) {
    const pool = net.pool === undefined ? undefined : spec.vlanPools[net.pool];
    if (!pool || net.slot === undefined || net.mode !== 'private') continue;
    const path = ['networks', name, 'slot'];
    const key = `${net.pool} ${net.slot}`;
    const other = pinned.get(key);
    if (net.slot > pool.size)
      report(
        path,
        `slot ${net.slot} is beyond pool ${net.pool}'s size (${pool.size})`,
        `pin a slot from 1 to ${pool.size}, or write size: ${net.slot} on the pool`,
      );
    else if (other !== undefined)
      report(
        path,
        `slot ${net.slot} of pool ${net.pool} is already network ${other}'s`,
        'leave "slot:" out to have a free one allocated, or pin another',
      );
    else pinned.set(key, name);
  }
  for (const net of bridged) {
    const pool = net.pool && spec.vlanPools[net.pool.name];
    if (!net.pool || !pool) continue;
    if (net.pool.slotAllocated && net.pool.slot > pool.size)
      report(
        ['networks', net.name, 'pool'],
        `pool ${net.pool.name} has ${plural(pool.size, 'slot')}, all taken: none is left for network ${net.name}`,
        `enlarge the pool: size: ${net.pool.slot}`,
      );
    else if (net.pool.slot <= pool.size)
      onEveryNode(spec, report, (set, r) => {
        if (checkTrunkOn(set, pool.trunk, true, [], () => undefined)) checkDevice(set, net, r);
      });
  }
}

/** A network's own VLAN on a pool's trunk outside the pool's range: the pool may hand it out later. */
function checkVlansInPools(spec: ClusterSpec, report: Report): void {
  for (const [name, net] of Object.entries(spec.networks)) {
    if (net.mode === 'gateway' || net.pool !== undefined || net.vlan === undefined) continue;
    const vlan = net.vlan;
    for (const [poolName, pool] of Object.entries(spec.vlanPools))
      if (pool.trunk === net.trunk && vlan > pool.base && vlan <= pool.base + pool.size)
        report(
          ['networks', name, 'vlan'],
          `VLAN ${vlan} on ${pool.trunk} belongs to pool ${poolName} (${vlanRange(pool.base + 1, pool.base + pool.size)}), which hands it to its network ${vlan - pool.base}`,
          net.mode === 'routed'
            ? `give network ${name} a VLAN outside the pool`
            : `give network ${name} a VLAN outside the pool, or take it from the pool: pool: ${poolName}`,
        );
  }
}

const vlanRange = (first: number, last: number) =>
  first === last ? `VLAN ${first}` : `VLANs ${first}-${last}`;
