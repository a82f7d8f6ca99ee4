import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { count, escapeControl as safe } from '../common/text.js';
import { RULE_FAMILIES } from '../correlate/rules/index.js';
import { isRetryFinding, type Finding, type RetryDetails, type Severity, type TcpEvent } from '../correlate/types.js';
import type { Report } from './types.js';

export interface TextOptions {
  color: boolean;
  /** Terminal width for wrapping the findings table. */
  width?: number;
}

/** The `analyze` screen: what the capture holds, then the findings table. */
export function renderText(report: Report, options: TextOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const out: string[] = [];
  const t0 = report.capture.firstTime ?? 0;
  const rel = (time: number) => `${(time - t0).toFixed(6)}s`;
  const cap = report.capture;
  out.push(c.bold(`Capture ${safe(cap.file)}`) + `  ${cap.format}${cap.compressed ? '.gz' : ''}, ${count(cap.frames, 'frame')}, ${cap.durationS ?? 0} s`);
  const s = report.summary;
  out.push(`  ${count(s.nvmeConnections, 'NVMe/TCP connection')}, ${count(s.associations, 'association')}, ${count(s.pdus, 'PDU')}, ${count(s.commands, 'command')}` +
    (s.retransmittedBytes ? `, ${s.retransmittedBytes} bytes retransmitted` : '') + (s.lostBytes ? c.yellow(`, ${s.lostBytes} bytes not captured`) : '') +
    (s.afterEndBytes ? c.yellow(`, ${s.afterEndBytes} bytes after their direction ended (not decoded)`) : ''));
  const other = s.tcpConnections - s.nvmeConnections;
  if (other > 0) {
    // Often the answer when a capture that began mid-stream shows nothing: the traffic used another port.
    out.push(c.dim(`  ${count(other, 'other TCP connection')} not decoded: NVMe/TCP is recognised on port${report.options.ports.length === 1 ? '' : 's'} ` +
      `${report.options.ports.join(', ')} or by its ICReq; --port P decodes connections already open when the capture began`));
  }
  if (report.problems.capture) {
    const p = report.problems.capture;
    out.push(c.red(`  capture damaged at byte ${p.byteOffset} after frame ${p.afterFrame}: ${p.message}; everything before it was analysed`));
  }
  if (report.problems.truncatedFrames) {
    out.push(c.yellow(`  ${count(report.problems.truncatedFrames, 'frame')} ${report.problems.truncatedFrames === 1 ? 'was' : 'were'} cut by the snapshot length (first: frame ${report.problems.firstTruncatedFrame})`));
  }
  for (const a of report.associations) {
    out.push('');
    out.push(c.bold(`Association ${a.id}`) + `  ${safe(a.path)}${a.inferred ? c.dim(' (inferred: no Connect captured)') : ''}`);
    out.push(`  cntlid ${a.cntlid ?? '?'}  KATO ${a.katoMs} ms (${a.katoSource})  CQT ${a.cqtMs} ms (${a.cqtSource})${a.tbkas ? '  TBKAS' : ''}` +
      `  from frame ${a.firstFrame} at ${rel(a.firstTime)}`);
    out.push(`  last controller contact: ${a.lastControllerContact ? `frame ${a.lastControllerContact.frame} at ${rel(a.lastControllerContact.time)}` : 'none'}` +
      `   last host transmission: ${a.lastHostTransmission ? `frame ${a.lastHostTransmission.frame} at ${rel(a.lastHostTransmission.time)}` : 'none'}` +
      (a.fencedBy ? `   fenced: ${a.fencedBy.kind} frame ${a.fencedBy.frame}` : ''));
    const ka = a.keepAlive;
    if (ka.sent) {
      out.push(`  keep-alives: ${ka.sent} sent, ${ka.answered} answered, interval median ${ms(ka.medianIntervalMs)} max ${ms(ka.maxIntervalMs)}, max RTT ${ms(ka.maxRttMs)}`);
    }
    for (const q of a.queues) {
      out.push(`  ${q.qid === null ? 'queue ?' : q.qid === 0 ? 'admin q0' : `I/O q${q.qid}`}  conn ${q.conn} ${safe(q.host)} → ${safe(q.controller)}` +
        `  ${count(q.commands, 'command')}${q.inFlightAtEnd ? c.yellow(`, ${q.inFlightAtEnd} unanswered`) : ''}${q.gaps ? c.yellow(`, ${count(q.gaps, 'gap')}`) : ''}  ${teardown(q.teardown, rel)}`);
    }
  }
  if (report.unassociatedConnections.length) {
    out.push('');
    out.push(c.bold('Connections that never became a queue'));
    for (const q of report.unassociatedConnections) {
      out.push(`  conn ${q.conn} ${safe(q.host)} → ${safe(q.controller)}  ${teardown(q.teardown, rel)}`);
    }
  }
  if (report.kernelLog) out.push('', ...kernelLogLines(report, c, rel));
  if (report.opcodes.length) {
    out.push('');
    const table = new Table({
      head: ['queue', 'command', 'count', 'ok', 'error', 'unanswered', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      style: { head: options.color ? ['cyan'] : [], border: options.color ? ['grey'] : [] },
    });
    for (const o of report.opcodes) {
      table.push([o.queue, o.opcode, o.count, o.completed, o.errors, o.unanswered, num(o.latencyMs.p50), num(o.latencyMs.p90), num(o.latencyMs.p99), num(o.latencyMs.max)]);
    }
    out.push(table.toString());
  }
  out.push('');
  out.push(renderFindings(report.findings, c, t0, options.width));
  return out.join('\n');
}

/** The rule column fits the longest rule id on one line (plus the table's padding). */
const RULE_WIDTH = Math.max(...RULE_FAMILIES.flatMap((f) => f.ruleIds.map((id) => id.length))) + 2;

export function renderFindings(findings: Finding[], c: ChalkInstance, t0: number, width = 120): string {
  const f = report(findings);
  if (findings.length === 0) return c.green('No findings.');
  const table = new Table({
    head: ['severity', 'rule', 'time', 'assoc/q/cid', 'frames', 'finding'],
    colWidths: [9, RULE_WIDTH, 12, 13, 16, Math.max(30, width - 9 - RULE_WIDTH - 12 - 13 - 16 - 8)],
    wordWrap: true,
    style: { head: c.level ? ['cyan'] : [], border: c.level ? ['grey'] : [] },
  });
  for (const x of findings) {
    table.push([
      paint(c, x.severity), x.ruleId, `${(x.time - t0).toFixed(3)}s`,
      `${x.assoc ?? '-'}/${x.qid ?? '-'}/${x.cid === null ? '-' : '0x' + x.cid.toString(16).padStart(4, '0')}`,
      x.frames.slice(0, 6).join(' ') + (x.frames.length > 6 ? ' …' : ''),
      safe(x.message) + (isRetryFinding(x) ? '\n' + evidenceLines(x.details, t0).join('\n') : ''),
    ]);
  }
  return `${c.bold('Findings')}  ${f}\n${table.toString()}`;
}

/** Kernel lines worth a line on the summary screen; the JSON report has them all. */
const KERNEL_SHOWN = new Set(['io-timeout', 'error-recovery', 'keep-alive-failed', 'reconnected', 'new-ctrl', 'removing-ctrl', 'keep-alive-expired', 'fatal-error', 'no-usable-path']);
const KERNEL_LINES_MAX = 30;

function kernelLogLines(report: Report, c: ChalkInstance, rel: (t: number) => string): string[] {
  const k = report.kernelLog!;
  const out: string[] = [];
  for (const [i, src] of k.sources.entries()) {
    out.push(c.bold(`Kernel log ${safe(src.file)}`) + `  ${src.format}, ${count(src.lines, 'line')}, ${count(src.events, 'NVMe line')}`);
    for (const a of k.alignment.filter((x) => x.source === i)) {
      const boot = k.alignment.filter((x) => x.source === i).length > 1 ? ` (boot ${a.boot})` : '';
      const anchors = a.anchors.length ? ` — lines ${a.anchors.map((x) => x.line).join(', ')} ↔ frames ${a.anchors.map((x) => x.frame).join(', ')}` : '';
      out.push(`  ${a.method === 'none' ? c.yellow('not aligned') : `aligned by ${a.method}`}${boot}: ${safe(a.message)}${anchors}`);
    }
  }
  const shown = k.events.filter((e) => KERNEL_SHOWN.has(e.kind) && e.time !== null);
  for (const e of shown.slice(0, KERNEL_LINES_MAX)) {
    const command = e.command ? c.dim(`  → command of frame ${e.command.frame}`) : '';
    out.push(`  ${rel(e.time!)} after frame ${e.afterFrame ?? '-'}  ${e.side}: ${safe(e.text)}${command}`);
  }
  if (shown.length > KERNEL_LINES_MAX) out.push(c.dim(`  ${shown.length - KERNEL_LINES_MAX} more lines in the JSON report (kernelLog.events)`));
  for (const w of k.warnings) out.push(c.yellow(`  warning: ${safe(w)}`));
  return out;
}

/** A retry's evidence chain, one step a line, in time order. */
export function evidenceLines(d: RetryDetails, t0: number): string[] {
  return d.evidence.map((e, i) => `${i + 1}. ${(e.time - t0).toFixed(3)}s ${e.step === 'kernel-log' ? `after frame ${e.frame ?? '-'}` : `frame ${e.frame}`}: ${safe(e.what)}`);
}

function report(findings: Finding[]): string {
  const n: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) n[f.severity]++;
  return `${n.error} error, ${n.warning} warning, ${n.info} info`;
}

function paint(c: ChalkInstance, s: Severity): string {
  return s === 'error' ? c.red.bold(s) : s === 'warning' ? c.yellow(s) : c.blue(s);
}

function teardown(events: TcpEvent[], rel: (t: number) => string): string {
  if (events.every((e) => e.kind === 'syn')) return events.some((e) => e.from === 'controller') ? 'no teardown captured' : 'SYN never answered';
  return events.filter((e) => e.kind !== 'syn').map((e) => `${e.from} ${e.kind.toUpperCase()} frame ${e.frame} at ${rel(e.time)}${e.inFlight ? ` (${e.inFlight} in flight)` : ''}`).join(', ');
}

function ms(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(1)} ms`;
}

function num(v: number | null): string {
  return v === null ? '-' : v < 10 ? v.toFixed(3) : v.toFixed(1);
}
