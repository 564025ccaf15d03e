// The VM measures its own speed when it boots, before the lab starts: the time python3 takes to
// start (every probe, server and agent of the lab is one), against 0.3 s in an idle VM on this
// machine kind (bench/README.md). The ratio, between 1 and MAX_PACE, goes to everything the job
// runs as CONVERGENT_LAB_PACE (lab/pace.ts); the host says what the VM measured.
import { PYTHON } from '../lab/agent.ts';
import { PACE_ENV } from '../lab/pace.ts';

/** python3's start in an idle VM under qemu's TCG on a 2-core machine, warm (bench/README.md). */
export const IDLE_PYTHON_START_MS = 300;
/** A VM this slow cannot be helped by longer timeouts: its lab would take many minutes. */
export const MAX_PACE = 8;

export interface VmPace {
  /** The factor on the lab's timeouts and waits. */
  readonly pace: number;
  /** python3's start in the VM, warm, in milliseconds. */
  readonly pythonStartMs: number;
}

const MARK = 'convergent-vm: pace';

/**
 * Shell lines (POSIX sh) that time `command` (python3 by default): once to warm the caches (the
 * first start reads python from the host over 9p, which the lab's servers then need not), then
 * twice; they export the pace and print it on a line of their own for paceOf.
 */
export function paceScript(command = `${PYTHON} -c ''`): string {
  return [
    `${command} >/dev/null 2>&1`,
    'pace_start=$(date +%s%N)',
    `${command} >/dev/null 2>&1; ${command} >/dev/null 2>&1`,
    'pace_ms=$(( ($(date +%s%N) - pace_start) / 2000000 ))',
    // In tenths: POSIX sh has integers only.
    `pace=$(( pace_ms * 10 / ${IDLE_PYTHON_START_MS} ))`,
    '[ "$pace" -lt 10 ] && pace=10',
    `[ "$pace" -gt ${MAX_PACE * 10} ] && pace=${MAX_PACE * 10}`,
    `export ${PACE_ENV}=$((pace / 10)).$((pace % 10))`,
    `echo "${MARK} $${PACE_ENV} $pace_ms"`,
    'unset pace pace_ms pace_start',
  ].join('\n');
}

/** The pace from the job's line, or undefined for any other line. */
export function paceOf(line: string): VmPace | undefined {
  const m = new RegExp(`^${MARK} (\\d+\\.\\d) (\\d+)$`).exec(line);
  return m ? { pace: Number(m[1]), pythonStartMs: Number(m[2]) } : undefined;
}

export const describePace = (p: VmPace) =>
  `python3 starts in ${(p.pythonStartMs / 1000).toFixed(2)} s in this VM (${(IDLE_PYTHON_START_MS / 1000).toFixed(1)} s when idle): ` +
  (p.pace > 1
    ? `the lab gives its clients and servers ${p.pace} times their usual time`
    : "the lab's timeouts are the usual ones");
