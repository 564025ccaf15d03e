// Maps spec paths back to line:column in the YAML text, so that every problem names its place.
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { Location, SpecPath } from './problem.ts';

export class SourceMap {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  /**
   * The position of the value at `path` (or of its key, with atKey). When the path does not exist
   * (a missing field), the nearest existing ancestor is named instead.
   */
  locate(path: SpecPath, atKey = false): Location {
    let node: unknown = this.#doc.contents;
    let keyNode: unknown;
    for (const part of path) {
      const next = childOf(node, part);
      if (!next) break;
      node = next.value;
      keyNode = next.key;
    }
    const target = (atKey && keyNode) || node;
    const offset = rangeStart(target) ?? rangeStart(this.#doc.contents) ?? 0;
    const { line, col } = this.#lines.linePos(offset);
    return { line, col };
  }

  locateOffset(offset: number): Location {
    const { line, col } = this.#lines.linePos(offset);
    return { line, col };
  }
}

function childOf(node: unknown, part: string | number): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(part)) {
        return { key: pair.key, value: pair.value ?? pair.key };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof part === 'number') {
    const item = node.items[part];
    return item ? { key: undefined, value: item } : undefined;
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? range[0] : undefined;
}
