// Marks (F36): strategy stateless carries node tags in the marks' bits under marks.mask; the mask
// must hold the largest tag and leave the declared platforms' bits alone.
import { DEFAULT_MARK_MASK } from '../../marks/bits.ts';
import { checkMarks } from '../../marks/validate.ts';
import type { ClusterSpec } from '../schema.ts';
import { allocateTags } from '../tags.ts';
import type { Report } from './common.ts';

export function checkClusterMarks(spec: ClusterSpec, report: Report): void {
  const marks = spec.marks ?? { mask: DEFAULT_MARK_MASK, platform: [] };
  const stateless = spec.forwards.some((f) => (f.strategy ?? spec.strategy) === 'stateless');
  let need: Parameters<typeof checkMarks>[2];
  if (stateless) {
    const tags = allocateTags(Object.entries(spec.nodes).map(([name, n]) => ({ name, tag: n.tag })));
    for (const [name, tag] of tags) {
      if (tag === undefined || (need && need.largest >= tag)) continue;
      const pinned = spec.nodes[name]?.tag !== undefined;
      need = {
        largest: tag,
        what: `node ${name}'s tag`,
        path: pinned ? ['nodes', name, 'tag'] : ['nodes', name],
      };
    }
  }
  checkMarks(marks, spec.marks !== undefined, need, report);
}
