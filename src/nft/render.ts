// Ruleset tree -> nftables.conf text for `nft -f`. Replaces convergent's own tables atomically
// (create-if-missing, delete, define: one transaction) and never flushes the host's whole ruleset.
import type {
  Chain,
  Const,
  Element,
  Expr,
  Field,
  NamedSet,
  Rule,
  Ruleset,
  Statement,
  Table,
} from './tree.ts';

const HOOK_ORDER = ['ingress', 'prerouting', 'input', 'forward', 'output', 'postrouting', 'egress'];
const NAMED_PRIORITIES: [string, number][] = [
  ['raw', -300],
  ['mangle', -150],
  ['dstnat', -100],
  ['filter', 0],
  ['security', 50],
  ['srcnat', 100],
];

/** Element blocks are cached by array identity: nodes share the arrays of cluster-wide maps. */
const elementCache = new WeakMap<readonly Element[], string>();

/**
 * The file as chunks of text, in order. A large map's elements are one chunk shared by every node
 * that has the same map, so rendering 200 nodes does not copy 20,000 elements 200 times.
 */
export function renderRuleset(ruleset: Ruleset, header: readonly string[]): string[] {
  const out: string[] = [['#!/usr/sbin/nft -f', ...header.map((h) => `# ${h}`), ''].join('\n')];
  for (const table of ruleset.tables) out.push('\n', ...renderTable(table), '\n');
  return out;
}

function renderTable(table: Table): string[] {
  const id = `${table.family} ${table.name}`;
  const lines = [
    `# Replace table ${id} in one transaction: create it if missing, delete it, define it anew.`,
    `table ${id}`,
    `delete table ${id}`,
    `table ${id} {`,
    `\tcomment ${quote(table.comment)}`,
  ].join('\n');
  const out = [lines];
  for (const set of table.sets) out.push('\n\n', ...renderSet(set));
  for (const chain of orderChains(table.chains)) out.push('\n\n', renderChain(chain, table.family));
  out.push('\n}');
  return out;
}

function renderSet(set: NamedSet): string[] {
  const lines = (set.notes ?? []).map((n) => `\t# ${n}`);
  lines.push(`\t${set.value ? 'map' : 'set'} ${set.name} {`);
  const value = set.value ? ` : ${set.intervalValue ? 'interval ' : ''}${set.value.join(' . ')}` : '';
  lines.push(set.typeof ? `\t\ttypeof ${set.typeof}` : `\t\ttype ${set.key.join(' . ')}${value}`);
  if (set.dynamic) lines.push(`\t\tsize ${set.dynamic.size}`);
  const timeout = set.dynamic?.timeout;
  if (timeout !== undefined) lines.push(`\t\ttimeout ${timeout}s`);
  const flags = [
    ...(set.interval ? ['interval'] : []),
    ...(set.dynamic ? ['dynamic'] : []),
    ...(timeout !== undefined ? ['timeout'] : []),
  ];
  if (flags.length > 0) lines.push(`\t\tflags ${flags.join(', ')}`);
  lines.push(`\t\tcomment ${quote(set.comment)}`);
  if (set.elements.length === 0) return [`${lines.join('\n')}\n\t}`];
  return [`${lines.join('\n')}\n\t\telements = {\n`, renderElements(set.elements), '\n\t\t}\n\t}'];
}

/** A set's elements as the file lists them, one a line (`\t\t\t<element>,`); cached, so free once rendered. */
export function renderElements(elements: readonly Element[]): string {
  const cached = elementCache.get(elements);
  if (cached !== undefined) return cached;
  const text = elements.map((e) => `\t\t\t${renderElement(e)},`).join('\n');
  elementCache.set(elements, text);
  return text;
}

/** An element's key as nft reads it in `delete element ... { KEY }`: "tcp . 2201". */
export function renderElementKey(e: Element): string {
  return e.key.map(renderConst).join(' . ');
}

/** One element as nft reads it in a set's `elements = { }` or `add element ... { }`. */
export function renderElement(e: Element): string {
  const comment = e.comment ? ` comment ${quote(e.comment)}` : '';
  const value = e.value ? ` : ${e.value.map(renderConst).join(' . ')}` : '';
  return `${renderElementKey(e)}${comment}${value}`;
}

/** Base chains in packet-path order (hook, then priority); each followed by the chains it jumps to. */
function orderChains(chains: readonly Chain[]): Chain[] {
  const byName = new Map(chains.map((c) => [c.name, c]));
  const bases = chains
    .filter((c) => c.base)
    .sort((a, b) => {
      const ha = HOOK_ORDER.indexOf(a.base?.hook ?? '');
      const hb = HOOK_ORDER.indexOf(b.base?.hook ?? '');
      return ha - hb || (a.base?.priority ?? 0) - (b.base?.priority ?? 0);
    });
  const out: Chain[] = [];
  const placed = new Set<string>();
  const place = (chain: Chain) => {
    if (placed.has(chain.name)) return;
    placed.add(chain.name);
    out.push(chain);
    for (const rule of chain.rules) {
      for (const s of rule.statements) {
        if (s.kind === 'goto' || s.kind === 'jump') {
          const target = byName.get(s.chain);
          // The lint refuses such a tree at compile; a tree built by hand must not lose the rule's target.
          if (!target) throw new Error(`render: ${s.kind} to chain ${s.chain}, which is not defined`);
          place(target);
        }
      }
    }
  };
  for (const chain of bases) place(chain);
  for (const chain of chains) place(chain);
  return out;
}

function renderChain(chain: Chain, family: Table['family']): string {
  const lines = (chain.notes ?? []).map((n) => `\t# ${n}`);
  lines.push(`\tchain ${chain.name} {`, `\t\tcomment ${quote(chain.comment)}`);
  if (chain.base) {
    const b = chain.base;
    const devices = b.devices ? ` devices = { ${b.devices.map(quote).join(', ')} }` : '';
    lines.push(
      `\t\ttype ${b.type} hook ${b.hook}${devices} priority ${renderPriority(b.priority, family)}; policy ${b.policy};`,
    );
  }
  for (const rule of chain.rules) lines.push(`\t\t${renderRule(rule)}`);
  lines.push('\t}');
  return lines.join('\n');
}

function renderPriority(priority: number, family: Table['family']): string {
  if (family !== 'ip' && family !== 'ip6' && family !== 'inet') return String(priority);
  let best: [string, number] | undefined;
  for (const named of NAMED_PRIORITIES) {
    if (!best || Math.abs(priority - named[1]) < Math.abs(priority - best[1])) best = named;
  }
  const [name, base] = best as [string, number];
  const offset = priority - base;
  if (offset === 0) return name;
  return offset > 0 ? `${name} + ${offset}` : `${name} - ${-offset}`;
}

export function renderRule(rule: Rule): string {
  const body = rule.statements.map(renderStatement).join(' ');
  return rule.comment ? `${body} comment ${quote(rule.comment)}` : body;
}

export function renderStatement(s: Statement): string {
  switch (s.kind) {
    case 'match':
      // nft reads `ct mark & 0x1 0x0` too, but `==` says it: a masked value compared.
      return s.op === 'eq'
        ? `${renderExpr(s.left)}${s.left.kind === 'mask' ? ' ==' : ''} ${renderExpr(s.right)}`
        : `${renderExpr(s.left)} != ${renderExpr(s.right)}`;
    case 'match-set':
      return `${renderExpr(s.left)} ${s.negate ? '!= ' : ''}@${s.set}`;
    case 'set-field':
      return `${renderField(s.field)} set ${renderExpr(s.value)}`;
    case 'nat':
      return `${s.type} ip to ${renderExpr(s.to)}`;
    case 'counter':
    case 'notrack':
      return s.kind;
    case 'dup':
      return `dup to ${renderExpr(s.to)}`;
    case 'count-over':
      return `add @${s.set} { ${renderExpr(s.key)} ct count over ${s.limit} }`;
    case 'update':
      return `update @${s.set} { ${renderExpr(s.key)}${s.value ? ` : ${renderExpr(s.value)}` : ''} }`;
    case 'vmap':
      return `${renderExpr(s.key)} vmap @${s.map}`;
    case 'verdict':
      return s.verdict;
    case 'goto':
    case 'jump':
      return `${s.kind} ${s.chain}`;
  }
  const _exhaustive: never = s;
  throw new Error(`render: unknown statement ${JSON.stringify(_exhaustive)}`);
}

export function renderExpr(e: Expr): string {
  switch (e.kind) {
    case 'const':
      return renderConst(e.value);
    case 'concat':
      return e.parts.map(renderExpr).join(' . ');
    case 'mask':
      return `${renderExpr(e.value)} & ${renderConst(e.mask)}${e.or ? ` | ${renderConst(e.or)}` : ''}`;
    case 'lookup':
      return `${renderExpr(e.key)} map @${e.map}`;
    case 'anonymous-set':
      return `{ ${e.values.map(renderConst).join(', ')} }`;
    case 'meta':
    case 'ct':
    case 'ct-tuple':
    case 'fib':
    case 'payload':
      return renderField(e);
  }
  const _exhaustive: never = e;
  throw new Error(`render: unknown expression ${JSON.stringify(_exhaustive)}`);
}

function renderField(f: Field): string {
  switch (f.kind) {
    case 'meta':
      return f.key === 'iifname' || f.key === 'oifname' ? f.key : `meta ${f.key}`;
    case 'ct':
      return f.key === 'zone' ? `ct ${f.direction} zone` : `ct ${f.key}`;
    case 'ct-tuple':
      return `ct ${f.direction} ${f.key}`;
    case 'fib':
      return `fib ${f.key}`;
    case 'payload':
      return `${f.header} ${f.field}`;
  }
  const _exhaustive: never = f;
  throw new Error(`render: unknown field ${JSON.stringify(_exhaustive)}`);
}

function renderConst(c: Const): string {
  switch (c.type) {
    case 'mark':
      return `0x${c.value.toString(16).padStart(8, '0')}`;
    case 'inet_service':
    case 'ct_zone':
      return String(c.value);
    case 'classid':
      return `${(c.value >>> 16).toString(16)}:${(c.value & 0xffff).toString(16)}`;
    case 'port_range':
      return `${c.value[0]}-${c.value[1]}`;
    case 'ifname':
      return quote(c.value);
    case 'ct_state':
      return c.value.join(',');
    case 'verdict':
      return `jump ${c.value}`;
    case 'tcp_flags':
      // One flag bare, several as nft's bitwise or: (fin|syn|rst|ack).
      return c.value.length === 1 ? c.value.join('') : `(${c.value.join('|')})`;
    case 'ipv4_addr':
    case 'ipv6_addr':
    case 'ether_type':
    case 'icmpv6_type':
    case 'arp_op':
    case 'inet_proto':
    case 'nfproto':
    case 'ether_addr':
    case 'ct_direction':
    case 'ct_status':
    case 'fib_addrtype':
      return c.value;
  }
  const _exhaustive: never = c;
  throw new Error(`render: unknown constant ${JSON.stringify(_exhaustive)}`);
}

// nft keeps at most 128 bytes of a comment and has no escape for '"'.
function quote(text: string): string {
  if (text.includes('"') || Buffer.byteLength(text) > 128) {
    throw new Error(`render: comment or name not printable in nft: ${JSON.stringify(text)}`);
  }
  return `"${text}"`;
}
