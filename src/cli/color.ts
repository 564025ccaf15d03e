// Colour per stream: what goes to stderr is coloured when stderr is a terminal, what goes to stdout
// when stdout is. NO_COLOR, FORCE_COLOR, --no-color, --color and CI decide as picocolors does.
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export function colorFor(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
): boolean {
  if (env.NO_COLOR || argv.includes('--no-color')) return false;
  if (env.FORCE_COLOR || argv.includes('--color') || env.CI) return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** picocolors' painters, on or off for this stream. */
export const colorsFor = (stream: { readonly isTTY?: boolean }): Colors => pc.createColors(colorFor(stream));
