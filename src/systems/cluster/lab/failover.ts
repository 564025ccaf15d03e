// Bond failover (VM lab): a ping stream runs from the client while the switch side of a node's bond
// slave goes down, and comes back. The figures: the failover time (the longest gap between replies),
// the probes lost, and the bond's mode and active slave before, during and after, as
// /proc/net/bonding/<bond> shows them. Traffic must continue on the other slave and return to the
// primary when its link is back.
import type { Outcome } from '../../../lab/outcome.ts';
import { paced } from '../../../lab/pace.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { LabInstance } from './build.ts';
import type { Probe } from './probes.ts';
import { UPSTREAM } from './topology.ts';

/** One echo request every 20 ms: a failover of 100-200 ms loses a handful. */
const INTERVAL_S = 0.02;
const STREAM_S = 6;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface BondState {
  readonly mode?: string;
  readonly active?: string;
}

function bondState(lab: LabInstance, node: string, bond: string): BondState {
  const r = lab.runner(['ip', 'netns', 'exec', lab.ns(node), 'cat', `/proc/net/bonding/${bond}`]);
  return {
    mode: /^Bonding Mode: (.*)$/m.exec(r.stdout)?.[1],
    active: /^Currently Active Slave: (.*)$/m.exec(r.stdout)?.[1],
  };
}

/** Reply times (s) from `ping -D` output, and how many were sent. */
function replies(stdout: string): { times: number[]; sent: number } {
  const times = [...stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]));
  const sent = Number(/(\d+) packets transmitted/.exec(stdout)?.[1] ?? 0);
  return { times, sent };
}

export async function runFailover(lab: LabInstance, probe: Probe): Promise<Outcome> {
  const cut = probe.client15.cut;
  const node = lab.cluster.nodes.find((n) => n.name === cut?.node);
  const bond = node?.interfaces.find((i) => i.kind === 'bond' && i.slaves.includes(cut?.link ?? ''));
  if (!cut || !bond || bond.kind !== 'bond') return { error: 'no bond slave to cut' };
  const link = (state: 'up' | 'down') =>
    lab.runner(['ip', '-n', lab.ns(UPSTREAM), 'link', 'set', 'dev', cut.port, state]);
  const stream = lab.runAsync(
    [
      'ip',
      'netns',
      'exec',
      lab.ns(probe.client),
      'ping',
      '-D',
      '-n',
      '-i',
      String(INTERVAL_S),
      '-w',
      String(STREAM_S),
      '-W',
      '1',
      formatIPv4(probe.address),
    ],
    { timeoutMs: paced(STREAM_S * 1000 + 10_000) },
  );
  await sleep(1_000);
  const before = bondState(lab, cut.node, bond.name);
  link('down');
  await sleep(1_500);
  const during = bondState(lab, cut.node, bond.name);
  link('up');
  let after = bondState(lab, cut.node, bond.name);
  for (let i = 0; i < 30 && after.active !== (bond.primary ?? before.active); i++) {
    await sleep(100);
    after = bondState(lab, cut.node, bond.name);
  }
  const r = await stream;
  const { times, sent } = replies(r.stdout);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  const failoverMs = Math.round((Math.max(0, ...gaps) - INTERVAL_S) * 1000);
  const figures = {
    mode: before.mode ?? '?',
    activeBefore: before.active ?? '?',
    activeDuring: during.active ?? '?',
    activeAfter: after.active ?? '?',
    failoverMs,
    lost: sent - times.length,
    sent,
  };
  const summary = `${bond.name} ${figures.mode}: ${figures.activeBefore} -> ${figures.activeDuring} -> ${figures.activeAfter}; failover ${failoverMs} ms, ${figures.lost} of ${sent} lost`;
  const problem =
    before.active !== cut.link
      ? `${cut.link} was not the active slave before the cut (${before.active})`
      : during.active === cut.link || during.active === undefined
        ? `${bond.name} did not fail over from ${cut.link} (active: ${during.active})`
        : after.active !== (bond.primary ?? cut.link)
          ? `traffic did not return to ${bond.primary ?? cut.link} when its link came back (active: ${after.active})`
          : times.length === 0 || (times.at(-1) as number) < (times[0] as number) + STREAM_S - 1
            ? 'the stream stopped: no replies after the cut'
            : undefined;
  const replyFrom = /^\[\d+\.\d+\] \d+ bytes from ([^:\s]+)/m.exec(r.stdout)?.[1];
  return problem
    ? { error: `${problem}; ${summary}`, figures }
    : { answered: summary, replyFrom, figures, ms: failoverMs };
}
