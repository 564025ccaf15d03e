// A node's tag into a mark under marks.mask (F36): on the hosting node from the packet mark into the
// connection mark, on the pipes from the sending node's MAC into the packet mark. nft 1.0.6 cannot or
// a register into a mark (`ct mark set ct mark & ~M | meta mark & M`: "Right hand side of binary
// operation (|) must be constant"), so a verdict map keyed by the tag jumps to a chain of that tag
// that writes it as a constant under the mask: one lookup and one rule per packet, whatever the
// cluster's size; the chains grow with the nodes (255 at most). The kernel writes a ct mark only
// when it changes, so a flow whose mark is right already costs no conntrack event.
import type { TableDraft } from '../../../../host/builder.ts';
import {
  counter,
  ct,
  type Element,
  ether,
  etherAddr,
  mark,
  meta,
  type Statement,
  vmap,
} from '../../../../nft/tree.ts';
import { hexMark, spread } from '../../../marks/bits.ts';
import { masked, setMasked } from '../../../marks/nft.ts';
import type { ClusterContext } from '../../compile/context.ts';
import type { Node } from '../../model.ts';
import { TAG_MAC_MASK, tagMacKey } from '../../tags.ts';

/** The verdict maps from a tag to its chain. */
export const TAG_TO_CT = 'tag_to_ct';
export const TAG_FROM_MAC = 'tag_from_mac';
const ctChain = (n: Node) => `ct-tag-${n.tag}`;
const markChain = (n: Node) => `mark-tag-${n.tag}`;

/** A tag's chain and what it writes: the same on every node, built once per cluster. */
interface TagChain {
  readonly node: Node;
  readonly note: string;
  readonly ct: Statement;
  readonly mark: Statement;
}

interface Parts {
  readonly byMark: Element[];
  readonly byMac: Element[];
  readonly chains: TagChain[];
}

const shared = new WeakMap<ClusterContext, Parts>();

function partsOf(ctx: ClusterContext): Parts {
  const known = shared.get(ctx);
  if (known) return known;
  const { nodes, marks, tagMacPrefix } = ctx.cluster;
  const { mask } = marks;
  const jump = (chain: string) => [{ type: 'verdict', value: chain }] as const;
  const made: Parts = {
    byMark: nodes.map((n) => ({
      key: [mark(spread(n.tag, mask))],
      value: jump(ctChain(n)),
      comment: `nodes.${n.name}`,
    })),
    byMac: nodes.map((n) => ({
      key: [etherAddr(tagMacKey(tagMacPrefix, n.tag))],
      value: jump(markChain(n)),
      comment: `nodes.${n.name}`,
    })),
    chains: nodes.map((node) => {
      const value = spread(node.tag, mask);
      return {
        node,
        note: `nodes.${node.name}.tag ${node.tag} (mark ${hexMark(value)} under ${hexMark(mask)})`,
        ct: setMasked(ct('mark'), mask, value),
        mark: setMasked(meta('mark'), mask, value),
      };
    }),
  };
  shared.set(ctx, made);
  return made;
}

/** ct mark = the packet's tag: the map, a chain per tag; the statement that looks the tag up. */
export function tagToCt(ctx: ClusterContext, table: TableDraft): Statement {
  const { byMark, chains } = partsOf(ctx);
  table.set({
    name: TAG_TO_CT,
    comment: 'nodes.*.tag, spread into marks.mask -> the chain writing it into the ct mark',
    key: ['mark'],
    value: ['verdict'],
    interval: false,
    elements: byMark,
  });
  for (const c of chains) {
    table.chain(ctChain(c.node), `forwards (strategy stateless): ct mark = ${c.note}`);
    table.rule(
      ctChain(c.node),
      `${c.note}: the flow entered at ${c.node.name}; other bits kept`,
      counter,
      c.ct,
    );
  }
  return vmap(masked(meta('mark'), ctx.cluster.marks.mask), TAG_TO_CT);
}

/** mark = the sending node's tag, by the tag octet of its MAC: the map, a chain per tag; the lookup. */
export function tagFromMac(ctx: ClusterContext, netdev: TableDraft): Statement {
  const { byMac, chains } = partsOf(ctx);
  netdev.set({
    name: TAG_FROM_MAC,
    comment: "nodes.*: guest-bridge MAC prefix (its second octet is the node's tag) -> the chain marking it",
    key: ['ether_addr'],
    value: ['verdict'],
    interval: false,
    elements: byMac,
  });
  for (const c of chains) {
    netdev.chain(markChain(c.node), `forwards (strategy stateless): mark = ${c.note}`);
    netdev.rule(markChain(c.node), `${c.note}: sent by ${c.node.name}; other bits kept`, c.mark);
  }
  return vmap({ kind: 'mask', value: ether('saddr'), mask: etherAddr(TAG_MAC_MASK) }, TAG_FROM_MAC);
}
