// The parts of a host apply manages, in the order they are read: one list for a host's command line
// and the lab's namespaced nodes, so that every lab run exercises what a host runs.
import type { AnyPart } from './engine.ts';
import { filesPart, type Reload } from './files.ts';
import { hostPart } from './host/part.ts';
import { nftPart } from './nft/part.ts';

export function partsOf(reload: Reload): AnyPart[] {
  return [hostPart, nftPart(), filesPart(reload)];
}
