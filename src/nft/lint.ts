// What nft would refuse, or silently get wrong, found at compile: every system's ruleset is linted
// when its builder freezes it. Each finding is a developer error, thrown, naming the system, the part
// that added the object (a feature) and the object itself.
//
// Limits, from the sources: a comment is at most NFTNL_UDATA_COMMENT_MAXLEN = 128 bytes (libnftnl
// udata.h; nft's parser refuses a longer one, "comment too long, 128 characters maximum allowed");
// table, chain and set names at most NFT_NAME_MAXLEN - 1 = 255 bytes (the kernel's netlink policy,
// uapi nf_tables.h); a device name at most IFNAMSIZ - 1 = 15 bytes.

import { ruleMarkFinding } from './lint-marks.ts';
import type { Const, DataType, Element, Expr, NamedSet, Rule, Ruleset, Statement, Table } from './tree.ts';

export const COMMENT_MAX_BYTES = 128;
export const NAME_MAX_BYTES = 255;
export const IFNAME_MAX_BYTES = 15;

export type LintRule =
  | 'duplicate-name'
  | 'missing-chain'
  | 'missing-set'
  | 'set-kind'
  | 'comment'
  | 'name-too-long'
  | 'element-type'
  | 'unmasked-mark';

export class NftLintError extends Error {
  readonly rule: LintRule;
  constructor(rule: LintRule, message: string) {
    super(`compile: ${message}`);
    this.name = 'NftLintError';
    this.rule = rule;
  }
}

export interface LintSubject {
  /** "cluster demo, node node1", "CGNAT demo". */
  readonly system: string;
  /** The part of the system (a feature) that added a set, chain or rule, when known. */
  readonly originOf?: (o: object) => string | undefined;
}

/** Throws the first finding. Element arrays shared by many rulesets are checked once per declaration. */
export function lintRuleset(ruleset: Ruleset, subject: LintSubject): void {
  const fail = (rule: LintRule, o: object | undefined, what: string): never => {
    const origin = o === undefined ? undefined : subject.originOf?.(o);
    const who = origin === undefined ? subject.system : `${subject.system} (${origin})`;
    throw new NftLintError(rule, `${who}: ${what}`);
  };
  const tables = new Set<string>();
  for (const table of ruleset.tables) {
    const id = `${table.family} ${table.name}`;
    if (tables.has(id)) fail('duplicate-name', undefined, `table ${id} defined twice`);
    tables.add(id);
    lintTable(table, fail);
  }
}

type Fail = (rule: LintRule, o: object | undefined, what: string) => never;

function lintTable(table: Table, fail: Fail): void {
  const id = `${table.family} ${table.name}`;
  name(table.name, `table ${id}`, undefined, fail);
  comment(table.comment, `table ${id}`, undefined, fail);
  const sets = new Map<string, NamedSet>();
  for (const set of table.sets) {
    const what = `${set.value ? 'map' : 'set'} ${set.name} in ${id}`;
    if (sets.has(set.name)) fail('duplicate-name', set, `${what} defined twice`);
    sets.set(set.name, set);
    name(set.name, what, set, fail);
    comment(set.comment, what, set, fail);
    lintElements(set, what, fail);
  }
  const chains = new Set<string>();
  for (const chain of table.chains) {
    const what = `chain ${chain.name} in ${id}`;
    if (chains.has(chain.name)) fail('duplicate-name', chain, `${what} defined twice`);
    chains.add(chain.name);
    name(chain.name, what, chain, fail);
    comment(chain.comment, what, chain, fail);
    for (const device of chain.base?.devices ?? []) ifname(device, `${what}: device`, chain, fail);
  }
  // A verdict map's elements jump to chains of the table, as a rule's jump does.
  for (const set of table.sets)
    for (const e of set.value?.includes('verdict') ? set.elements : [])
      for (const v of e.value ?? [])
        if (v.type === 'verdict' && !chains.has(v.value))
          fail(
            'missing-chain',
            set,
            `map ${set.name} in ${id}: an element jumps to chain ${v.value}, which is not defined`,
          );
  for (const chain of table.chains) {
    for (const rule of chain.rules) {
      const what = `rule ${JSON.stringify(rule.comment)} in chain ${chain.name} of ${id}`;
      comment(rule.comment, what, rule, fail);
      lintRule(rule, { what, chains, sets, fail });
      const mark = ruleMarkFinding(rule);
      if (mark) fail('unmasked-mark', rule, `${what}: ${mark} (F36: other software's bits must survive)`);
    }
  }
}

interface RuleScope {
  readonly what: string;
  readonly chains: ReadonlySet<string>;
  readonly sets: ReadonlyMap<string, NamedSet>;
  readonly fail: Fail;
}

function lintRule(rule: Rule, scope: RuleScope): void {
  const use = (set: string, as: 'set' | 'map') => {
    const found = scope.sets.get(set);
    if (!found) scope.fail('missing-set', rule, `${scope.what}: @${set} is not defined`);
    if ((found.value !== undefined) !== (as === 'map'))
      scope.fail(
        'set-kind',
        rule,
        `${scope.what}: @${set} is used as a ${as} but declared as a ${as === 'map' ? 'set' : 'map'}`,
      );
  };
  for (const s of rule.statements) {
    const r = references(s);
    if (r.set) use(r.set, r.as);
    if (r.chain !== undefined && !scope.chains.has(r.chain))
      scope.fail('missing-chain', rule, `${scope.what}: ${s.kind} to chain ${r.chain}, which is not defined`);
    for (const e of r.exprs) lintExpr(e, rule, scope, use);
  }
}

interface References {
  readonly exprs: readonly Expr[];
  readonly set?: string;
  readonly as: 'set' | 'map';
  readonly chain?: string;
}

/** What a statement refers to: the expressions it reads, a named set or map, a chain. */
function references(s: Statement): References {
  switch (s.kind) {
    case 'match':
      return { exprs: [s.left, s.right], as: 'set' };
    case 'match-set':
      return { exprs: [s.left], set: s.set, as: 'set' };
    case 'set-field':
      return { exprs: [s.value], as: 'set' };
    case 'nat':
    case 'dup':
      return { exprs: [s.to], as: 'set' };
    case 'count-over':
      return { exprs: [s.key], set: s.set, as: 'set' };
    case 'update':
      return s.value
        ? { exprs: [s.key, s.value], set: s.set, as: 'map' }
        : { exprs: [s.key], set: s.set, as: 'set' };
    case 'vmap':
      return { exprs: [s.key], set: s.map, as: 'map' };
    case 'goto':
    case 'jump':
      return { exprs: [], chain: s.chain, as: 'set' };
    case 'counter':
    case 'notrack':
    case 'verdict':
      return { exprs: [], as: 'set' };
  }
  const _exhaustive: never = s;
  throw new Error(`lint: unknown statement ${JSON.stringify(_exhaustive)}`);
}

type Use = (set: string, as: 'set' | 'map') => void;

function lintExpr(e: Expr, rule: Rule, scope: RuleScope, use: Use): void {
  switch (e.kind) {
    case 'lookup':
      use(e.map, 'map');
      lintExpr(e.key, rule, scope, use);
      return;
    case 'concat':
      for (const part of e.parts) lintExpr(part, rule, scope, use);
      return;
    case 'mask':
      lintExpr(e.value, rule, scope, use);
      return;
    case 'const':
      lintConst(e.value, scope.what, rule, scope.fail);
      return;
    case 'anonymous-set':
      for (const c of e.values) lintConst(c, scope.what, rule, scope.fail);
      return;
    case 'meta':
    case 'ct':
    case 'ct-tuple':
    case 'fib':
    case 'payload':
      return;
  }
  const _exhaustive: never = e;
  throw new Error(`lint: unknown expression ${JSON.stringify(_exhaustive)}`);
}

function lintConst(c: Const, what: string, o: object, fail: Fail): void {
  if (c.type === 'ifname') ifname(c.value, what, o, fail);
}

/** Element arrays already checked, by the declaration they were checked against. */
const checked = new WeakMap<readonly Element[], Set<string>>();

function lintElements(set: NamedSet, what: string, fail: Fail): void {
  const declaration = JSON.stringify([set.key, set.value, set.interval, set.intervalValue]);
  const done = checked.get(set.elements) ?? new Set<string>();
  if (done.has(declaration)) return;
  for (const [i, element] of set.elements.entries()) {
    const at = `${what}: element ${i + 1}${element.comment ? ` (${element.comment})` : ''}`;
    if (element.comment !== undefined) comment(element.comment, at, set, fail);
    const key = mismatch(element.key, set.key, set.interval);
    if (key) fail('element-type', set, `${at}: key ${key}`);
    if (set.value === undefined) {
      if (element.value) fail('element-type', set, `${at}: has a value, but ${set.name} is a set`);
      continue;
    }
    if (!element.value) fail('element-type', set, `${at}: has no value, but ${set.name} is a map`);
    const value = mismatch(element.value, set.value, set.intervalValue === true);
    if (value) fail('element-type', set, `${at}: value ${value}`);
  }
  done.add(declaration);
  checked.set(set.elements, done);
}

/** Why the constants do not fit the declared types, or undefined when they do. */
function mismatch(
  consts: readonly Const[],
  types: readonly DataType[],
  interval: boolean,
): string | undefined {
  const declared = types.join(' . ');
  if (consts.length !== types.length) return `has ${consts.length} part(s), declared ${declared}`;
  for (const [i, c] of consts.entries()) {
    if (!fits(c, types[i] as DataType, interval)) return `part ${i + 1} is ${c.type}, declared ${declared}`;
  }
  return undefined;
}

function fits(c: Const, type: DataType, interval: boolean): boolean {
  switch (c.type) {
    case 'port_range':
      return type === 'inet_service' && interval;
    case 'ipv4_addr':
      return type === 'ipv4_addr' && (interval || !c.value.includes('/'));
    case 'ipv6_addr':
      return type === 'ipv6_addr' && (interval || !c.value.includes('/'));
    case 'inet_proto':
    case 'inet_service':
    case 'verdict':
    case 'mark':
    case 'classid':
    case 'ether_addr':
    case 'ifname':
    case 'ct_zone':
      return type === c.type;
    case 'nfproto':
    case 'ct_direction':
    case 'ct_status':
    case 'fib_addrtype':
    case 'ct_state':
    case 'ether_type':
    case 'icmpv6_type':
    case 'arp_op':
    case 'tcp_flags':
      return false;
  }
  const _exhaustive: never = c;
  throw new Error(`lint: unknown constant ${JSON.stringify(_exhaustive)}`);
}

function comment(text: string, what: string, o: object | undefined, fail: Fail): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > COMMENT_MAX_BYTES)
    fail(
      'comment',
      o,
      `${what}: comment of ${bytes} bytes, over nft's ${COMMENT_MAX_BYTES}: ${JSON.stringify(text)}`,
    );
  if (/["\n]/.test(text))
    fail('comment', o, `${what}: comment with a '"' or a line break, which nft cannot quote`);
}

function name(text: string, what: string, o: object | undefined, fail: Fail): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > NAME_MAX_BYTES)
    fail('name-too-long', o, `${what}: name of ${bytes} bytes, over nft's ${NAME_MAX_BYTES}`);
}

function ifname(text: string, what: string, o: object | undefined, fail: Fail): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > IFNAME_MAX_BYTES)
    fail(
      'name-too-long',
      o,
      `${what}: device name ${JSON.stringify(text)} of ${bytes} bytes, over ${IFNAME_MAX_BYTES}`,
    );
}
