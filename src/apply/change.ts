// A difference between the host and what it should be, and the commands that remove it. `diff`
// prints changes; `apply` runs their commands in the engine's order. Every command is idempotent:
// an apply that was killed halfway is completed by running it again.

/** The kinds of objects, in the order the engine adds them (deletions run in reverse after nft). */
export const PARTS = ['links', 'addresses', 'routes', 'rules', 'sysctls', 'nftables', 'files'] as const;
export type PartName = (typeof PARTS)[number];

export interface Command {
  readonly argv: readonly string[];
  readonly input?: string;
}

export interface Change {
  readonly part: PartName;
  readonly action: 'add' | 'change' | 'delete';
  /** What, in the host's words: "bridge guestbr0", "route 10.0.0.0/24 table 500", "table inet convergent". */
  readonly what: string;
  /** How it differs: "mtu 1500 -> 9000", "+1 element in map fullnat_forwards". */
  readonly detail?: string;
  /** The spec path it comes from, when the plan says (a deletion has none). */
  readonly source?: string;
  readonly commands: readonly Command[];
}

/** One line of `convergent diff`: "+ route 10.0.0.0/24 table 500 (networks.pub)". */
export function changeLine(c: Change): string {
  const sign = c.action === 'add' ? '+' : c.action === 'delete' ? '-' : '~';
  const detail = c.detail === undefined ? '' : `: ${c.detail}`;
  const source = c.source === undefined ? '' : `  (${c.source})`;
  return `${sign} ${c.what}${detail}${source}`;
}
