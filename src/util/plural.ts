// Counts in words: "1 network", "2 networks", "1 address", "3 addresses".

/** `n` and the noun in the number it takes; `many` when the plural is not `one` + "s". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
