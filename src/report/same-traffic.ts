import { maxOf } from '../common/numbers.js';
import { frameLabel } from '../common/frame-ref.js';
import { count } from '../common/text.js';
import type { PassageCounts, SameTrafficReport } from '../merge/types.js';
import type { Report } from './types.js';

const ms = (v: number | null) => (v === null ? '?' : v.toFixed(3));

/**
 * What the text and Markdown reports say about an analysis of two captures of the same traffic:
 * where each was taken (the frame labels explained once), how their clocks line up, and what
 * passed between the two points. No lines for a single capture.
 */
export function sameTrafficLines(report: Report): string[] {
  const st = report.sameTraffic;
  if (!st) return [];
  const lines: string[] = [];
  const where = st.captures.map((c) => `${c.label} = ${c.file} (${c.vantage} side${c.vantageSource === 'inferred' ? ', inferred from the delays' : c.vantageSource === 'assumed' ? ', assumed from the order given' : ''})`);
  lines.push(`Two captures of the same traffic read as one: ${where.join(', ')}; frame N is the host capture's frame N, target#N the target capture's`);
  for (const c of st.captures) {
    if (c.problem) lines.push(`the ${c.label} capture is damaged at byte ${c.problem.byteOffset} after frame ${c.problem.afterFrame}: ${c.problem.message}; what was read before it is analysed`);
  }
  lines.push(clockLine(st));
  if (st.overlap) {
    const spans = st.captures.map((c) => (c.lastTime ?? 0) - (c.firstTime ?? 0));
    const common = st.overlap.to - st.overlap.from;
    if (maxOf(spans) - common > 1) {
      lines.push(`the captures overlap for ${common.toFixed(3)} s of ${maxOf(spans).toFixed(3)} s: outside it one point alone saw the traffic, and what it shows is not checked against the other`);
    }
  } else lines.push('the captures do not overlap in time: nothing could be seen at both points');
  lines.push(`host→target PDUs: ${passage(st.totals.h2c, 'host')}; target→host PDUs: ${passage(st.totals.c2h, 'target')}`);
  const only = Object.entries(st.connectionsOnlyIn).map(([label, n]) => `${count(n, 'connection')} only in the ${label} capture`);
  if (only.length) lines.push(only.join(', '));
  return lines;
}

function clockLine(st: SameTrafficReport): string {
  const c = st.clock;
  const how = c.source === 'given' ? 'given with --peer-offset' : c.uncertaintyMs === null ? `aligned from one direction only (${c.h2cDelay.pairs + c.c2hDelay.pairs} PDUs): a bound, not a midpoint` : `± ${ms(c.uncertaintyMs)} ms, aligned from ${c.h2cDelay.pairs + c.c2hDelay.pairs} PDUs seen at both points`;
  const drift = c.driftPpm === null ? '' : `, drifting ${c.driftPpm} ppm`;
  const delay = (d: SameTrafficReport['clock']['h2cDelay']) => (d.pairs ? `${ms(d.minMs)}–${ms(d.maxMs)} ms` : 'not seen');
  return `clocks: target − host = ${ms(c.offsetMs)} ms (${how}${drift}); one-way delay host→target ${delay(c.h2cDelay)}, target→host ${delay(c.c2hDelay)}`;
}

function passage(p: PassageCounts, sender: string): string {
  const receiver = sender === 'host' ? 'target' : 'host';
  const lost = p.senderOnly ? `${p.senderOnly} lost between the points (seen leaving the ${sender} only${p.firstLostFrames.length ? `: ${p.firstLostFrames.map(frameLabel).join(', ')}` : ''})` : 'none lost between the points';
  const missed = p.receiverOnly ? `, ${p.receiverOnly} missed by the ${sender} capture (seen at the ${receiver} only)` : '';
  return `${p.both} seen at both, ${lost}${missed}`;
}
