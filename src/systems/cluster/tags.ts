// Node tags. A tag is one octet: the second octet of the node's guest-bridge MAC, the packet mark
// the node's netdev ingress sets for frames from that node, and the conntrack mark of the flows
// it let in (seed part 4). Tag 0 means "untagged", so 255 nodes at most.
import { hex2 } from '../../util/mac.ts';

export const MAX_TAG = 255;

export interface TagRequest {
  readonly name: string;
  readonly tag?: number;
}

/**
 * Pinned tags are kept; the others get the lowest free tags in order of appearance, so appending a
 * node never changes an existing node's tag. Returns undefined for a node beyond the tag space.
 */
export function allocateTags(nodes: readonly TagRequest[]): Map<string, number | undefined> {
  const taken = new Set<number>();
  for (const n of nodes) if (n.tag !== undefined) taken.add(n.tag);
  const out = new Map<string, number | undefined>();
  let next = 1;
  for (const n of nodes) {
    if (n.tag !== undefined) {
      out.set(n.name, n.tag);
      continue;
    }
    while (taken.has(next)) next++;
    if (next > MAX_TAG) {
      out.set(n.name, undefined);
      continue;
    }
    taken.add(next);
    out.set(n.name, next);
  }
  return out;
}

/** The node's guest-bridge MAC: <prefix>:<tag>:00:00:00:01. */
export function bridgeMac(prefixOctet: string, tag: number): string {
  return `${prefixOctet}:${hex2(tag)}:00:00:00:01`;
}

/** The MAC prefix key for the pipe-ingress map: the first two octets, the rest zero. */
export function tagMacKey(prefixOctet: string, tag: number): string {
  return `${prefixOctet}:${hex2(tag)}:00:00:00:00`;
}

export const TAG_MAC_MASK = 'ff:ff:00:00:00:00';
