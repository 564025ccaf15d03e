// Policy rules: convergent's (protocol 241) by family and preference, each preference holding one
// rule. A rule that differs is replaced (ours at its preference deleted, then added: ip has no
// "rule replace"); a preference the plan no longer has is emptied of ours. Rules of another
// protocol are never deleted, even at one of our preferences.
import type { RulePlan } from '../../host/plan.ts';
import { CONVERGENT_PROTO, MAIN_TABLE, ruleAddCommand } from '../../host/routing.ts';
import type { Change } from '../change.ts';
import { adoptedOf } from './adopted.ts';
import { change, sh } from './commands.ts';
import { cidrText, type LiveRule } from './read.ts';

const full = (family: 4 | 6) => (family === 4 ? 32 : 128);
const hex = (text: string) => `0x${Number(text).toString(16)}`;

/** "10.0.0.0/24", "10.0.0.1" -> "10.0.0.1/32": as the live rule's is. */
function prefix(text: string, family: 4 | 6): string {
  const [address, length] = text.split('/');
  return cidrText(address as string, length === undefined ? full(family) : Number(length));
}

/** The rule's selectors and table in one text, the same for a plan's rule and a live one. */
export function planRuleText(r: RulePlan): string {
  const m = r.match;
  const parts: string[] = [];
  if (m.kind === 'iif') parts.push(`iif ${m.value}`);
  if (m.kind === 'from') parts.push(`from ${prefix(m.value, r.family)}`);
  if (m.kind === 'to') parts.push(`to ${prefix(m.value, r.family)}`);
  if (r.to !== undefined) parts.push(`to ${prefix(r.to, r.family)}`);
  if (m.kind === 'fwmark') {
    const [value, mask] = m.value.split('/');
    parts.push(`fwmark ${hex(value as string)}/${hex(mask ?? '0xffffffff')}`);
  }
  return [...parts, `lookup ${r.table}`].join(' ');
}

export function liveRuleText(r: LiveRule): string {
  const parts: string[] = [];
  if (r.iif !== undefined) parts.push(`iif ${r.iif}`);
  if (r.src !== undefined && r.src !== 'all')
    parts.push(`from ${cidrText(r.src, r.srclen ?? full(r.family))}`);
  if (r.dst !== undefined && r.dst !== 'all') parts.push(`to ${cidrText(r.dst, r.dstlen ?? full(r.family))}`);
  if (r.fwmark !== undefined) parts.push(`fwmark ${hex(r.fwmark)}/${hex(r.fwmask ?? '0xffffffff')}`);
  return [...parts, `lookup ${r.table === 'main' ? MAIN_TABLE : r.table}`].join(' ');
}

/** Every rule of convergent's at the preference deleted; succeeds when there is none. */
const deleteOurs = (family: 4 | 6, pref: number) =>
  `while ip -${family} rule del pref ${pref} protocol ${CONVERGENT_PROTO} 2>/dev/null; do :; done`;

/**
 * The same rule without convergent's protocol deleted: network.sh put it so before the protocol
 * marked convergent's rules (a rule of exactly this preference, selectors and table is no one else's).
 * Without a protocol ip deletes one of any: ours at the preference are gone already, and come back.
 */
function deleteUnmarked(r: RulePlan): string {
  const same = ruleAddCommand(r)
    .replace(' rule add ', ' rule del ')
    .replace(` protocol ${CONVERGENT_PROTO}`, '');
  return `while ${same} 2>/dev/null; do :; done`;
}

const what = (family: 4 | 6, pref: number, text: string) =>
  `rule${family === 6 ? ' (IPv6)' : ''} ${pref}: ${text}`;

export function ruleChanges(live: readonly LiveRule[], desired: readonly RulePlan[]): Change[] {
  const at = new Map<string, string[]>();
  for (const r of live) {
    const k = `${r.family} ${r.priority}`;
    at.set(k, [...(at.get(k) ?? []), liveRuleText(r)]);
  }
  const out: Change[] = [];
  for (const r of desired) {
    const text = planRuleText(r);
    const have = at.get(`${r.family} ${r.pref}`) ?? [];
    at.delete(`${r.family} ${r.pref}`);
    const protocol = adoptedOf(r).protocol;
    if (protocol !== undefined) {
      // A checkpoint's rule of another protocol that the apply made ours: given back, or left alone.
      if (have.length > 0) {
        const add = ruleAddCommand(r).replace(` protocol ${CONVERGENT_PROTO}`, ` protocol ${protocol}`);
        const commands = [sh(`${deleteOurs(r.family, r.pref)}; ${deleteUnmarked(r)}; ${add}`)];
        const detail = `protocol ${CONVERGENT_PROTO} -> ${protocol}`;
        out.push(
          change('rules', 'change', what(r.family, r.pref, text), commands, { detail, source: r.source }),
        );
      }
      continue;
    }
    if (have.length === 1 && have[0] === text) continue;
    const detail = have.length === 0 ? undefined : `${have.join(' + ')} -> ${text}`;
    const commands = [sh(`${deleteOurs(r.family, r.pref)}; ${deleteUnmarked(r)}; ${ruleAddCommand(r)}`)];
    out.push(
      change('rules', have.length === 0 ? 'add' : 'change', what(r.family, r.pref, text), commands, {
        detail,
        source: r.source,
      }),
    );
  }
  // What is left: preferences of ours the plan no longer has.
  for (const [k, texts] of at) {
    const [family, pref] = k.split(' ').map(Number) as [4 | 6, number];
    out.push(
      change('rules', 'delete', what(family, pref, texts.join(' + ')), [sh(deleteOurs(family, pref))]),
    );
  }
  return out;
}
