// A validated spec's checks -> the model's, one kind each (ping, flow, or a NAT behaviour), with what
// that kind needs present. Validation has refused a check without it; a gap here is a bug, not the
// user's: it throws an Error naming the check.
import type { SpecPath } from '../../input/problem.ts';
import { type Address, parseAddress } from '../../util/ip.ts';
import type { CgnatCheck, NatCheck } from './model.ts';
import type { CgnatCheckSpec } from './schema.ts';

function unvalidated(c: CgnatCheckSpec, what: string): Error {
  return new Error(`resolve: check "${c.name}" ${what}, which validation refuses`);
}

function address(c: CgnatCheckSpec, text: string): Address {
  const a = parseAddress(text);
  if (!a) throw unvalidated(c, `has the address "${text}"`);
  return a;
}

function optionalAddress(c: CgnatCheckSpec, text: string | undefined): Address | undefined {
  return text === undefined ? undefined : address(c, text);
}

export function resolveCheck(c: CgnatCheckSpec, i: number): CgnatCheck {
  const path: SpecPath = ['checks', i];
  const [to, ...alsoTo] = (typeof c.to === 'string' ? [c.to] : c.to).map((t) => address(c, t));
  if (!to) throw unvalidated(c, 'dials no address');
  const sees = c.expect.sees;
  const base: Pick<CgnatCheck, 'name' | 'to' | 'expect' | 'path'> = {
    name: c.name,
    to,
    expect: {
      reaches: c.expect.reaches,
      sees: sees === 'nat' ? 'nat' : optionalAddress(c, sees),
    },
    path,
  };
  if (c.nat) return natCheck(c, c.nat, base, alsoTo);
  const from = Array.isArray(c.from) ? c.from : [c.from];
  const source = optionalAddress(c, c.source);
  if (c.proto === 'ping') return { ...base, kind: 'ping', proto: 'ping', from, source };
  if (c.port === undefined) throw unvalidated(c, `is ${c.proto} without a port`);
  return { ...base, kind: 'flow', proto: c.proto, from, port: c.port, source, sourcePort: c.sourcePort };
}

function natCheck(
  c: CgnatCheckSpec,
  nat: NatCheck['kind'],
  base: Pick<NatCheck, 'name' | 'to' | 'expect' | 'path'>,
  alsoTo: readonly Address[],
): NatCheck {
  if (Array.isArray(c.from) || typeof c.from !== 'string')
    throw unvalidated(c, 'is a NAT check from several hosts');
  if (c.proto === 'ping') throw unvalidated(c, 'is a NAT check over ping');
  if (c.port === undefined) throw unvalidated(c, 'is a NAT check without a port');
  const flow = { ...base, proto: c.proto, from: c.from, port: c.port };
  switch (nat) {
    case 'mapping':
      return { ...flow, kind: 'mapping', alsoTo, sourcePort: c.sourcePort };
    case 'filtering': {
      if (!c.inbound) throw unvalidated(c, 'is nat: filtering without inbound');
      const inbound = { from: c.inbound.from, source: optionalAddress(c, c.inbound.source) };
      return { ...flow, kind: 'filtering', inbound, sourcePort: c.sourcePort };
    }
    case 'limit':
      return { ...flow, kind: 'limit' };
  }
}
