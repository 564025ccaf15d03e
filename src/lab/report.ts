// The lab report for people: one table row per check, then for every failure what went wrong and
// the evidence (packets on the wire in time order, nft counters that moved, conntrack entries).
import pc from 'picocolors';
import { plural } from '../util/plural.ts';
import type { CheckResult, LabReport } from './result.ts';

/** Enough for a handshake through every hop of two nodes; --json keeps the rest. */
const WIRE_LINES = 40;

const COLUMNS = ['CHECK', 'RESULT', 'ANSWERED', 'SAW', 'REPLY FROM', 'TIME', 'ENTERS', 'LEAVES'] as const;

/** The client's wait for the answer, and the datagrams it took when more than one. */
function timeOf(r: CheckResult): string {
  if (r.ms === undefined) return '-';
  const time = r.ms >= 1000 ? `${(r.ms / 1000).toFixed(2)} s` : `${r.ms.toFixed(1)} ms`;
  return r.tries !== undefined && r.tries > 1 ? `${time} (${r.tries} tries)` : time;
}

/** Where replies left; where the handshake's or those that outran the sync left, when elsewhere. */
function leavesOf(r: CheckResult): string {
  const leaves = r.leaves ?? '-';
  if (r.handshake) return `${leaves} (SYN-ACK ${r.handshake})`;
  const sentBack = r.outran && r.enters !== undefined && leaves.split('+').includes(r.enters);
  return sentBack ? `${leaves} (outran the sync)` : leaves;
}

/** Checks that failed, before and after a cut, and held connections the cut broke: 0 is a pass. */
export function failures(report: LabReport): number {
  const cut = report.afterCut;
  return report.failed + (cut ? cut.report.failed + cut.established.filter((e) => !e.survived).length : 0);
}

export function formatReport(report: LabReport, color = false): string {
  return `${formatRun(report, color).join('\n')}\n`;
}

/** The table, the failures and conntrackd's figures, then the run after a cut, then one summary. */
function formatRun(report: LabReport, color: boolean, summary = true): string[] {
  // `color` alone decides (the caller knows the stream); picocolors' own choice follows stdout.
  const c = pc.createColors(color);
  const paint = (ok: boolean, text: string) => (ok ? c.green(text) : c.red(text));
  const rows = report.results.map((r) => [
    r.name,
    r.passed ? 'pass' : 'FAIL',
    r.answered ?? '-',
    r.saw ?? '-',
    r.replyFrom ?? '-',
    timeOf(r),
    r.enters ?? '-',
    leavesOf(r),
  ]);
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[], passed?: boolean) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i] as number);
        return i === 1 && passed !== undefined ? paint(passed, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const out = [line(COLUMNS), ...rows.map((row, i) => line(row, report.results[i]?.passed))];

  for (const r of report.results.filter((x) => !x.passed)) out.push('', ...failure(r));
  if (report.sync) {
    out.push('', 'conntrackd (conntrackd -s on each node, after the checks):');
    for (const s of report.sync) {
      // With more than two nodes a receiver's single sequence number sees other senders as gaps.
      const lost = s.lost === undefined ? '' : `, ${s.lost} lost`;
      out.push(
        `  ${s.node}: ${plural(s.sent, 'sync packet')} sent, ${s.received} received${lost}; ${plural(s.injected, 'flow')} from other nodes injected (${s.injectFailed} failed)`,
      );
    }
  }
  const cut = report.afterCut;
  if (cut) {
    out.push(
      '',
      `after cutting ${cut.node} off (uplink and pipes down), the checks that do not need it (${cut.report.results.length}):`,
      '',
      ...formatRun(cut.report, color, false),
    );
    const kept = cut.established.filter((e) => e.survived).length;
    out.push(
      '',
      `established TCP connections held open across the cut: ${kept} of ${cut.established.length} still answered`,
    );
    for (const e of cut.established.filter((x) => !x.survived))
      out.push(`  lost: ${e.name} (${e.error ?? 'another host answered'})`);
  }
  if (!summary) return out;
  const faults = report.faults.length > 0 ? ` with fault ${report.faults.join(', ')}` : '';
  const tally = (r: LabReport) => `${r.passed} passed, ${r.failed} failed`;
  // A cut run has two halves and the connections held across it: the summary gives all three.
  const counts = cut
    ? `before the cut ${tally(report)}; after cutting ${cut.node} off ${tally(cut.report)}, ` +
      `${cut.established.filter((e) => e.survived).length} of ${plural(cut.established.length, 'held connection')} still answered`
    : tally(report);
  out.push(
    '',
    paint(failures(report) === 0, `${counts} (cluster ${report.cluster}${faults}, lab ${report.lab})`),
  );
  return out;
}

function failure(r: CheckResult): string[] {
  const ports = r.proto === 'ping' || r.proto === 'arp' ? '' : `, client port ${r.clientPort}`;
  const out = [`FAIL ${r.name}  (${r.source}${ports})`, ...r.problems.map((p) => `  - ${p}`)];
  const e = r.evidence;
  if (!e) return [...out, '  (not run again for evidence: only the first failures are)'];
  if (e.note) out.push(`  ${e.note}`);
  else {
    const saw = e.outcome.saw ? `, saw ${e.outcome.saw}` : '';
    const again = e.outcome.error ?? `${e.outcome.answered} answered${saw}`;
    out.push(`  run again${ports ? ` from client port ${e.clientPort}` : ''}: ${again}`);
    out.push('  on the wire (every node and the upstream, in time order):');
    const shown = e.wire.slice(0, WIRE_LINES).map((w) => `    ${w}`);
    if (e.wire.length > WIRE_LINES)
      shown.push(`    … ${e.wire.length - WIRE_LINES} more (--json has them all)`);
    out.push(...(shown.length > 0 ? shown : ['    nothing was captured']));
  }
  for (const n of e.nodes) {
    if (n.counters.length === 0 && n.conntrack.length === 0) continue;
    out.push(`  ${n.node}:`);
    if (n.counters.length > 0)
      out.push('    nft counters that moved:', ...n.counters.map((c) => `      ${c}`));
    if (n.conntrack.length > 0) out.push('    conntrack:', ...n.conntrack.map((c) => `      ${c}`));
  }
  const quiet = e.nodes.filter((n) => n.counters.length === 0 && n.conntrack.length === 0).map((n) => n.node);
  if (quiet.length > 0) out.push(`  no counter moved and no conntrack entry on: ${quiet.join(', ')}`);
  return out;
}
