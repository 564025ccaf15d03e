// The keys of a named nft set in a lab namespace, each as its concatenation's parts: what the lab
// reads back from sets the rulesets fill themselves (the upstream's observations, CT-SYNC's record).
import type { Runner } from './run.ts';

/** Each element's key parts; none when the set (or its table) is not there. */
export function setKeys(
  runner: Runner,
  ns: string,
  family: string,
  table: string,
  set: string,
): (string | number)[][] {
  const r = runner(['ip', 'netns', 'exec', ns, 'nft', '-j', 'list', 'set', family, table, set]);
  if (r.code !== 0) return [];
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  return (doc.nftables.find((o) => o.set)?.set?.elem ?? []).map((e) => {
    // With a timeout each element is {elem: {val: {concat: [...]}, ...}}; without, {concat: [...]}.
    const v = e as { elem?: { val: { concat: (string | number)[] } }; concat?: (string | number)[] };
    return v.elem?.val.concat ?? v.concat ?? [];
  });
}
