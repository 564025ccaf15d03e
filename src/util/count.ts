// A count with its noun, in the singular for one: "1 node", "3 nodes", "1 address", "2 addresses".

export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
