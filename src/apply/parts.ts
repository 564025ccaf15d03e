// The parts of a host apply manages, in the order they are read: one list for a host's command line
// and the lab's namespaced nodes, so that every lab run exercises what a host runs.
import type { AnyPart } from './engine.ts';
import { filesPart, type Reload } from './files.ts';
import { hostPart } from './host/part.ts';
import { nftPart } from './nft/part.ts';

/** `elements`: compare every nft element with the host's (diff: finds one changed by hand; slower). */
export function partsOf(reload: Reload, options: { readonly elements?: boolean } = {}): AnyPart[] {
  return [hostPart, nftPart({ elements: options.elements ?? false }), filesPart(reload)];
}
