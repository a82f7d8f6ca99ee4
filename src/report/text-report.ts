import { frameLabel } from '../common/frame-ref.js';
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { count, escapeControl as safe, hex } from '../common/text.js';
import { findingPlace } from '../correlate/phrases.js';
import { RULE_ID_WIDTH } from '../correlate/findings/index.js';
import { firstTeardown, isLineStep, isRetryFinding, SEVERITY_RANK, worse, type Finding, type RetryDetails, type Severity, type TcpEvent } from '../correlate/types.js';
import type { Report } from './types.js';
import { tlsSummary } from './tls-summary.js';
import { sameTrafficLines } from './same-traffic.js';
import { COMMAND_COLUMNS, commandCells, incidentStory, toldByIncidents } from './incident-story.js';
import { append, maxOf } from '../common/numbers.js';

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
  append(out, headerLines(report, c));
  append(out, incidentLines(report, c, rel, options.width ?? 120));
  // A reconnect storm is read path by path: aggregates, then one line per listed association.
  const storm = report.associationsNotListed > 0 || report.associations.length > ASSOCIATION_BLOCKS_MAX;
  if (storm) append(out, pathLines(report, c, rel));
  // Beside incidents (which tell the teardowns), each association's facts in one wrapped paragraph.
  const brief = !storm && report.incidents.length > 0;
  if (brief) out.push('');
  for (const a of brief ? report.associations : []) append(out, associationParagraph(a, c, rel, options.width ?? 120));
  for (const a of storm || brief ? [] : report.associations) append(out, associationBlock(a, c, rel));
  if (!storm && !brief) append(out, recoveryLines(report, c));
  if (report.unassociatedConnections.length) {
    out.push('');
    out.push(c.bold('Connections that never became a queue'));
    const shown = storm ? report.unassociatedConnections.slice(0, 5) : report.unassociatedConnections;
    for (const q of shown) {
      out.push(`  conn ${q.conn} ${safe(q.host)} → ${safe(q.controller)}  ${teardown(q.teardown, rel)}`);
    }
    const more = report.unassociatedConnections.length - shown.length + report.unassociatedNotListed;
    if (more > 0) out.push(c.dim(`  ${count(more, 'more connection')} like these`));
  }
  if (report.kernelLog) out.push('', ...kernelLogLines(report, c, rel));
  if (report.kernelTrace) out.push('', ...kernelTraceLines(report, c));
  if (report.opcodes.length) append(out, opcodeLines(report, c, options.color));
  out.push('');
  const inIncidents = toldByIncidents(report);
  const rest = report.findings.filter((_, k) => !inIncidents.has(k));
  if (inIncidents.size) {
    const t = report.summary.findings;
    out.push(c.dim(`${count(inIncidents.size, 'finding')} make${inIncidents.size === 1 ? 's' : ''} up the incident${report.incidents.length === 1 ? '' : 's'} above (--json and --markdown list each one); ` +
      `all findings: ${t.error} error, ${t.warning} warning, ${t.info} info`));
  }
  if (!inIncidents.size || rest.length) out.push(renderFindings(rest, inIncidents.size ? totalsOf(rest) : report.summary.findings, c, t0, options.width));
  return out.join('\n');
}

/** The capture's line, its counts, and what the reader says about it (other connections, twins, TLS, damage). */
function headerLines(report: Report, c: ChalkInstance): string[] {
  const out: string[] = [];
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
  for (const line of sameTrafficLines(report)) out.push(`  ${line}`);
  for (const line of tlsSummary(report.tls)) out.push(report.tls!.decrypted < report.tls!.connections ? c.yellow(`  ${line}`) : `  ${line}`);
  if (report.problems.capture) {
    const p = report.problems.capture;
    out.push(c.red(`  capture damaged at byte ${p.byteOffset} after frame ${frameLabel(p.afterFrame)}: ${p.message}; everything before it was analysed`));
  }
  if (report.problems.truncatedFrames) {
    out.push(c.yellow(`  ${count(report.problems.truncatedFrames, 'frame')} ${report.problems.truncatedFrames === 1 ? 'was' : 'were'} cut by the snapshot length (first: frame ${frameLabel(report.problems.firstTruncatedFrame)})`));
  }
  return out;
}

/** Breaks in service not told as incidents: one line each. */
function recoveryLines(report: Report, c: ChalkInstance): string[] {
  const out: string[] = [];
  // Breaks told as incidents above are not told again.
  const told = new Set(report.incidents.map((i) => i.assoc));
  const breaks = report.recovery.episodes.filter((e) => e.tookOver !== null && !told.has(e.endedAssoc));
  if (breaks.length) out.push('', c.bold('Recovery'));
  for (const e of breaks) {
    const tries = e.attempts.unanswered + e.attempts.refused;
    out.push(`  association ${e.endedAssoc} → ${e.tookOver}: ${e.trigger}; last controller contact ${e.lastControllerContact ? `frame ${frameLabel(e.lastControllerContact.frame)}` : 'none'}` +
      `${e.teardown ? `, ${e.teardown.from} ${e.teardown.kind.toUpperCase()} frame ${frameLabel(e.teardown.frame)}` : ''}${tries ? `, ${count(tries, 'failed attempt')} (${e.attempts.refused} refused)` : ''}` +
      `, restored ${e.restoredAfterMs === null ? '-' : `${(e.restoredAfterMs / 1000).toFixed(3)} s`} after the last contact` +
      `; retries: ${e.retries.beforeKato} before KATO, ${e.retries.afterKato} after, ${e.retries.afterFence} after a fence`);
  }
  return out;
}

/** The opcode table (beside incidents, the busiest opcodes only: the JSON report has every one). */
function opcodeLines(report: Report, c: ChalkInstance, color: boolean): string[] {
  const out: string[] = [];
  out.push('');
  const table = new Table({
    head: ['queue', 'command', 'count', 'ok', 'error', 'unanswered', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], chars: NO_ROW_LINES,
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
  });
  // Beside incidents, the busiest opcodes only: the JSON report has every one.
  const rows = report.incidents.length ? [...report.opcodes].sort((a, b) => b.count - a.count).slice(0, OPCODE_ROWS_BESIDE_INCIDENTS) : report.opcodes;
  for (const o of rows) {
    table.push([o.queue, o.opcode, o.count, o.completed, o.errors, o.unanswered, num(o.latencyMs.p50), num(o.latencyMs.p90), num(o.latencyMs.p99), num(o.latencyMs.max)]);
  }
  out.push(table.toString());
  if (rows.length < report.opcodes.length) out.push(c.dim(`${count(report.opcodes.length - rows.length, 'more opcode')} in the JSON report (opcodes)`));
  return out;
}

function totalsOf(findings: Finding[]): Record<Severity, number> {
  const t = { error: 0, warning: 0, info: 0 };
  for (const f of findings) t[f.severity] += 'suppressed' in f.details ? f.details.suppressed : 1;
  return t;
}

/** Incidents first: a verdict line, the story in a few lines, one row per command. */
function incidentLines(report: Report, c: ChalkInstance, rel: (t: number) => string, width: number): string[] {
  const out: string[] = [];
  // A storm's dozens: the worst few in full, the rest a line each.
  const full = new Set([...report.incidents].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.id - b.id).slice(0, INCIDENT_BLOCKS_MAX).map((i) => i.id));
  const brief = report.incidents.filter((i) => !full.has(i.id));
  for (const i of report.incidents) {
    if (!full.has(i.id)) continue;
    // Wrapped by visible width: the colour codes of the head are not part of it.
    const head = wrapped(`Incident ${i.id}  ${i.severity}  `, safe(i.verdict), width);
    head[0] = `${c.bold(`Incident ${i.id}`)}  ${paint(c, i.severity)}  ${head[0].slice(`Incident ${i.id}  ${i.severity}  `.length)}`;
    out.push('');
    append(out, head);
    out.push(c.dim(`  ${safe(i.path)}`));
    for (const line of wrapped('  findings: ', ruleCounts(report, i.findings), width)) out.push(c.dim(line));
    for (const step of incidentStory(i)) append(out, wrapped(`  ${rel(step.time).padStart(11)}  ${step.where.padEnd(17)}  `, safe(step.what), width));
    if (i.commands.length === 0) continue;
    const rows = i.commands.map((cmd) => commandCells(cmd, rel));
    const table = new Table({
      head: COMMAND_COLUMNS, wordWrap: true, colWidths: commandColumnWidths(rows, width), chars: NO_ROW_LINES,
      style: { head: c.level ? ['cyan'] : [], border: c.level ? ['grey'] : [], 'padding-left': 1, 'padding-right': 1 },
    });
    for (const row of rows) table.push(row);
    out.push(table.toString().split('\n').map((l) => `  ${l}`).join('\n'));
    if (i.commandsNotListed) out.push(c.dim(`  ${count(i.commandsNotListed, 'more command')} in the JSON report`));
    // A few commands: each retry's whole evidence chain too (a burst's would drown the story).
    if (i.commands.length > CHAINS_MAX) continue;
    for (const k of i.findings) {
      const f = report.findings[k];
      if (!isRetryFinding(f)) continue;
      out.push(`  ${hex(f.details.originalCid)} ${safe(f.details.opcode)} (${f.ruleId}):`);
      for (const line of evidenceLines(f.details, report.capture.firstTime ?? 0)) append(out, wrapped('    ', line, width));
    }
  }
  if (brief.length) {
    out.push('', c.bold(`${count(brief.length, 'more incident')}`) + c.dim('  (the JSON and Markdown reports tell each)'));
    for (const i of brief.slice(0, INCIDENT_LINES_MAX)) append(out, wrapped(`  ${String(i.id).padStart(4)}  ${i.severity.padEnd(7)}  ${rel(i.firstTime)}  `, safe(i.verdict), width));
    if (brief.length > INCIDENT_LINES_MAX) out.push(c.dim(`  ${brief.length - INCIDENT_LINES_MAX} more`));
  }
  return out;
}

/** Incidents told in full on the text screen, the worst first; then one line each, up to a cap. */
const INCIDENT_BLOCKS_MAX = 4;
const INCIDENT_LINES_MAX = 10;

/** Opcode rows printed when incidents tell the story. */
const OPCODE_ROWS_BESIDE_INCIDENTS = 6;

/** Commands of an incident up to which each retry's evidence chain is printed under the table. */
const CHAINS_MAX = 3;

/** An association beside incidents: its facts in one paragraph, wrapped between facts. */
function associationParagraph(a: Report['associations'][number], c: ChalkInstance, rel: (t: number) => string, width: number): string[] {
  const late = a.controllerAfterHostClose;
  const unanswered = a.queues.reduce((n, q) => n + q.inFlightAtEnd, 0);
  const facts = [
    `cntlid ${a.cntlid ?? '?'}`, `KATO ${a.katoMs} ms (${a.katoSource})`, `CQT ${a.cqtMs} ms (${a.cqtSource})${a.tbkas ? ', TBKAS' : ''}`,
    `from frame ${frameLabel(a.firstFrame)} at ${rel(a.firstTime)}`,
    `last controller contact ${a.lastControllerContact ? `frame ${frameLabel(a.lastControllerContact.frame)} at ${rel(a.lastControllerContact.time)}` : 'none'}`,
    `last host transmission ${a.lastHostTransmission ? `frame ${frameLabel(a.lastHostTransmission.frame)}` : 'none'}`,
    ...(a.fencedBy ? [`fenced: ${a.fencedBy.kind} frame ${frameLabel(a.fencedBy.frame)}`] : []),
    `${count(a.queues.length, 'queue')}${unanswered ? `, ${unanswered} unanswered` : ''}`,
    ...(a.keepAlive.sent ? [`keep-alives ${a.keepAlive.sent} sent, ${a.keepAlive.answered} answered${a.keepAlive.late ? `, ${a.keepAlive.late} late` : ''}`] : []),
    ...(late ? [`after the host closed: the controller still sent ${count(late.pdus, 'PDU')} (frames ${frameLabel(late.firstFrame)}–${frameLabel(late.lastFrame)}), never seen by the host`] : []),
  ];
  // Wrapped between facts, never inside one: each stays greppable whole.
  const lines = wrapped(`Association ${a.id}  `, facts, width, ';  ');
  lines[0] = c.bold(`Association ${a.id}`) + lines[0].slice(`Association ${a.id}`.length);
  return lines;
}

/** An association in full: its header, contact times, keep-alives and one line per queue. */
function associationBlock(a: Report['associations'][number], c: ChalkInstance, rel: (t: number) => string): string[] {
  const out: string[] = [''];
  out.push(c.bold(`Association ${a.id}`) + `  ${safe(a.path)}${a.inferred ? c.dim(' (inferred: no Connect captured)') : ''}`);
  out.push(`  cntlid ${a.cntlid ?? '?'}  KATO ${a.katoMs} ms (${a.katoSource})  CQT ${a.cqtMs} ms (${a.cqtSource})${a.tbkas ? '  TBKAS' : ''}` +
    `  from frame ${frameLabel(a.firstFrame)} at ${rel(a.firstTime)}`);
  out.push(`  last controller contact: ${a.lastControllerContact ? `frame ${frameLabel(a.lastControllerContact.frame)} at ${rel(a.lastControllerContact.time)}` : 'none'}` +
    `   last host transmission: ${a.lastHostTransmission ? `frame ${frameLabel(a.lastHostTransmission.frame)} at ${rel(a.lastHostTransmission.time)}` : 'none'}` +
    (a.fencedBy ? `   fenced: ${a.fencedBy.kind} frame ${frameLabel(a.fencedBy.frame)}` : ''));
  const late = a.controllerAfterHostClose;
  if (late) {
    out.push(`  after the host closed: the controller still sent ${count(late.pdus, 'PDU')} (frames ${frameLabel(late.firstFrame)}–${frameLabel(late.lastFrame)}, ${rel(late.firstTime)} to ${rel(late.lastTime)}), never seen by the host`);
  }
  const ka = a.keepAlive;
  if (ka.sent) {
    out.push(`  keep-alives: ${ka.sent} sent, ${ka.answered} answered, interval p50 ${ms(ka.intervalMs.p50)} p99 ${ms(ka.intervalMs.p99)} max ${ms(ka.maxIntervalMs)}` +
      `, RTT p50 ${ms(ka.rttMs.p50)} p99 ${ms(ka.rttMs.p99)} max ${ms(ka.maxRttMs)}${ka.late ? c.yellow(`, ${ka.late} late`) : ''}`);
  }
  for (const q of a.queues) {
    out.push(`  ${q.qid === null ? 'queue ?' : q.qid === 0 ? 'admin q0' : `I/O q${q.qid}`}  conn ${q.conn} ${safe(q.host)} → ${safe(q.controller)}` +
      `  ${count(q.commands, 'command')}${q.inFlightAtEnd ? c.yellow(`, ${q.inFlightAtEnd} unanswered`) : ''}${q.gaps ? c.yellow(`, ${count(q.gaps, 'gap')}`) : ''}  ${teardown(q.teardown, rel)}`);
  }
  return out;
}

/** "24 retry-before-kato, 14 duplicate-execution": the incident's findings by rule, most first. */
function ruleCounts(report: Report, members: number[]): string {
  const by = new Map<string, number>();
  for (const k of members) by.set(report.findings[k].ruleId, (by.get(report.findings[k].ruleId) ?? 0) + 1);
  return [...by].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([rule, n]) => `${n} ${rule}`).join(', ');
}

/** Tables of one line per row: no rule between rows. */
const NO_ROW_LINES = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** `text` after `lead`, wrapped at `width` under its own start: between words, or between the given parts joined by `sep`. */
function wrapped(lead: string, text: string | string[], width: number, sep = ' '): string[] {
  const room = Math.max(40, width - lead.length);
  const lines: string[] = [];
  let line = '';
  for (const word of typeof text === 'string' ? text.split(' ') : text) {
    if (line && line.length + sep.length + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line}${sep}${word}` : word;
  }
  lines.push(line);
  return lines.map((l, k) => (k === 0 ? lead : ' '.repeat(lead.length)) + l);
}

/** Each column as wide as its longest cell (no word is ever cut); the retry column takes what is left and wraps at spaces. */
function commandColumnWidths(rows: string[][], width: number): number[] {
  const widths = COMMAND_COLUMNS.map((head, k) => Math.max(head.length, maxOf(rows.map((r) => r[k].length), 0)) + 2);
  const retry = COMMAND_COLUMNS.indexOf('retry');
  const others = widths.reduce((x, y) => x + y, 0) - widths[retry];
  // Two columns of indent and one border more than there are columns.
  widths[retry] = Math.min(widths[retry], Math.max(14, width - 2 - (COMMAND_COLUMNS.length + 1) - others));
  return widths;
}

/** The rule column fits the longest rule id on one line (plus the table's padding). */
const RULE_WIDTH = RULE_ID_WIDTH + 2;

/** `totals`: every finding by severity, listed or only counted (the report summary's). */
export function renderFindings(findings: Finding[], totals: Record<Severity, number>, c: ChalkInstance, t0: number, width = 120): string {
  const f = `${totals.error} error, ${totals.warning} warning, ${totals.info} info`;
  if (findings.length === 0) return c.green('No findings.');
  // Per rule, the first few rows; the rest become one count row (the JSON and Markdown reports list them).
  const perRule = new Map<string, number>();
  const shown: Finding[] = [];
  const hidden = new Map<string, { count: number; severity: Severity }>();
  for (const x of findings) {
    const n = 'suppressed' in x.details ? x.details.suppressed : 1;
    const seen = perRule.get(x.ruleId) ?? 0;
    perRule.set(x.ruleId, seen + 1);
    if (seen < TEXT_FINDINGS_PER_RULE && !('suppressed' in x.details)) shown.push(x);
    else {
      const h = hidden.get(x.ruleId) ?? { count: 0, severity: x.severity };
      h.count += n;
      h.severity = worse(h.severity, x.severity);
      hidden.set(x.ruleId, h);
    }
  }
  const rows = shown.map((x) => ({
    severity: x.severity,
    cells: [
      x.ruleId, `${(x.time - t0).toFixed(3)}s`,
      findingPlace(x),
      x.frames.slice(0, 6).map(frameLabel).join(' ') + (x.frames.length > 6 ? ' …' : ''),
      safe(x.message) + (isRetryFinding(x) ? '\n' + evidenceLines(x.details, t0).join('\n') : ''),
    ],
  }));
  const head = ['severity', 'rule', 'time', 'assoc/q/cid', 'frames', 'finding'];
  // Severity, time and assoc/q/cid are single words: a column narrower than its longest one would cut it
  // (cli-table3 truncates words that do not fit), so those columns fit their content.
  const fit = (i: number, ...values: string[]) => Math.max(head[i].length, ...values.map((v) => v.length)) + 2;
  const fixed = [
    fit(0, ...rows.map((r) => r.severity)), RULE_WIDTH, fit(2, ...rows.map((r) => r.cells[1])),
    fit(3, ...rows.map((r) => r.cells[2])), 16,
  ];
  const table = new Table({
    head,
    colWidths: [...fixed, Math.max(30, width - fixed.reduce((a, b) => a + b, 0) - 8)],
    wordWrap: true,
    style: { head: c.level ? ['cyan'] : [], border: c.level ? ['grey'] : [] },
  });
  for (const r of rows) table.push([paint(c, r.severity), ...r.cells]);
  for (const [rule, h] of hidden) table.push([paint(c, h.severity), rule, '', '', '', c.dim(`${h.count} more ${rule} findings: --json or --markdown lists them`)]);
  return `${c.bold('Findings')}  ${f}\n${table.toString()}`;
}

/** Association blocks printed in full before the screen switches to per-path summaries. */
const ASSOCIATION_BLOCKS_MAX = 12;
/** Listed associations named one line each under their path on the summary screen. */
const ASSOCIATION_LINES_MAX = 10;
/** Findings of one rule in the table before the rest are counted: the JSON and Markdown reports list more. */
const TEXT_FINDINGS_PER_RULE = 5;

function span(v: { min: number | null; p50: number | null; max: number | null }): string {
  if (v.p50 === null) return '-';
  const sec = (x: number | null) => `${((x ?? 0) / 1000).toFixed(3)} s`;
  return `median ${sec(v.p50)} (${sec(v.min)}–${sec(v.max)})`;
}

/** Paths given a block of their own; past this, one line each (a fleet). */
const PATH_BLOCKS_MAX = 8;
const PATH_LINES_MAX = 20;

function pathLines(report: Report, c: ChalkInstance, rel: (t: number) => string): string[] {
  const out: string[] = [];
  if (report.paths.length > PATH_BLOCKS_MAX) {
    // A fleet: one line a path, those with findings first, then the busiest.
    const ordered = [...report.paths].sort((x, y) => y.withFindings - x.withFindings || y.associations - x.associations);
    out.push('', c.bold(`${count(report.paths.length, 'path')}`) + c.dim('  (associations, with findings, lifetime, breaks in service, restored after)'));
    for (const p of ordered.slice(0, PATH_LINES_MAX)) {
      const rec = report.recovery.byPath.find((r) => r.path === p.path);
      const restored = rec?.restoredAfterMs.p50 === null || !rec ? '-' : `${(rec.restoredAfterMs.p50 / 1000).toFixed(3)} s`;
      out.push(`  ${safe(p.path)}  ${p.associations}, ${p.withFindings ? c.yellow(String(p.withFindings)) : 0}, ${span(p.lifetimeMs)}, ${rec?.episodes ?? 0}, ${restored}`);
    }
    if (ordered.length > PATH_LINES_MAX) out.push(c.dim(`  ${ordered.length - PATH_LINES_MAX} more paths in the JSON report (paths, recovery.byPath)`));
    return out;
  }
  for (const p of report.paths) {
    out.push('', c.bold(`Path ${safe(p.path)}`));
    out.push(`  ${count(p.associations, 'association')}, ${p.withFindings} with findings; lived ${span(p.lifetimeMs)}; reconnect delay ${span(p.reconnectDelayMs)}`);
    const listed = report.associations.filter((a) => a.path === p.path);
    for (const a of listed.slice(0, ASSOCIATION_LINES_MAX)) {
      const down = firstTeardown(a.queues);
      const unanswered = a.queues.reduce((n, q) => n + q.inFlightAtEnd, 0);
      out.push(`  association ${a.id}  cntlid ${a.cntlid ?? '?'}  from frame ${frameLabel(a.firstFrame)} at ${rel(a.firstTime)}` +
        `${unanswered ? c.yellow(`, ${unanswered} unanswered`) : ''}${down ? `, ${down.from} ${down.kind.toUpperCase()} frame ${frameLabel(down.frame)}` : ''}`);
    }
    const rec = report.recovery.byPath.find((r) => r.path === p.path);
    if (rec) {
      const triggers = Object.entries(rec.triggers).sort((x, y) => y[1] - x[1]).map(([t, n]) => `${n} ${t}`).join(', ');
      const tries = rec.attempts.unanswered + rec.attempts.refused;
      out.push(`  ${count(rec.episodes, 'break')} in service: ${triggers}; restored after ${span(rec.restoredAfterMs)} from the last controller contact` +
        `${tries ? `; ${count(tries, 'failed connection attempt')} (${rec.attempts.refused} refused, ${rec.attempts.unanswered} unanswered)` : ''}` +
        `; retries ${rec.retries.beforeKato} before KATO, ${rec.retries.afterKato} after, ${rec.retries.afterFence} after a fence`);
    }
    const rest = listed.length - Math.min(listed.length, ASSOCIATION_LINES_MAX);
    out.push(c.dim(`  ${p.listed} listed in the JSON report${rest ? ` (${rest} more than shown here)` : ''}, ${p.notListed} counted only; --all-associations lists every one`));
  }
  return out;
}

/** Kernel lines worth a line on the summary screen; the JSON report has them all. */
const KERNEL_SHOWN = new Set(['io-timeout', 'error-recovery', 'keep-alive-failed', 'reconnected', 'new-ctrl', 'removing-ctrl', 'keep-alive-expired', 'fatal-error', 'no-usable-path']);
const KERNEL_LINES_MAX = 30;

function kernelTraceLines(report: Report, c: ChalkInstance): string[] {
  const k = report.kernelTrace!;
  const out: string[] = [];
  for (const [i, src] of k.sources.entries()) {
    out.push(c.bold(`Kernel trace ${safe(src.file)}`) + `  ${src.format}, ${count(src.lines, 'line')}, ${count(src.decoded, 'nvme/nvmet/block event')}`);
    const a = k.alignment[i];
    const sample = a.sample.length ? ` — lines ${a.sample.map((x) => x.line).join(', ')} ↔ frames ${a.sample.map((x) => frameLabel(x.frame)).join(', ')}` : '';
    out.push(`  ${a.method === 'none' ? c.yellow('not aligned') : 'aligned by anchors'}: ${safe(a.message)}${sample}`);
  }
  const r = k.retries;
  if (r.traced > 0) {
    const ties = [[r.requeued, 'requeued'], [r.failedOver, 'failed over'], [r.differentRequest, 'a different request'], [r.unknown, 'not tied']] as const;
    out.push(`  ${(r.traced === 1 ? '1 retry' : `${r.traced} retries`)} traced: ${ties.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`).join(', ')}` +
      (k.executedTwice ? c.red(`; ${count(k.executedTwice, 'command')} executed twice by the target`) : ''));
  }
  for (const w of k.warnings) out.push(c.yellow(`  warning: ${safe(w)}`));
  return out;
}

function kernelLogLines(report: Report, c: ChalkInstance, rel: (t: number) => string): string[] {
  const k = report.kernelLog!;
  const out: string[] = [];
  for (const [i, src] of k.sources.entries()) {
    out.push(c.bold(`Kernel log ${safe(src.file)}`) + `  ${src.format}, ${count(src.lines, 'line')}, ${count(src.events, 'NVMe line')}`);
    for (const a of k.alignment.filter((x) => x.source === i)) {
      const boot = k.alignment.filter((x) => x.source === i).length > 1 ? ` (boot ${a.boot})` : '';
      const anchors = a.anchors.length ? ` — lines ${a.anchors.map((x) => x.line).join(', ')} ↔ frames ${a.anchors.map((x) => frameLabel(x.frame)).join(', ')}` : '';
      out.push(`  ${a.method === 'none' ? c.yellow('not aligned') : `aligned by ${a.method}`}${boot}: ${safe(a.message)}${anchors}`);
    }
  }
  // With incidents, the lines that matter are in their stories: one count line instead of a line each.
  const told = report.incidents.length > 0;
  const shown = told ? [] : k.events.filter((e) => KERNEL_SHOWN.has(e.kind) && e.time !== null);
  if (told) out.push(c.dim(`  ${count(k.events.length, 'NVMe line')} on the capture's clock: the incidents above cite the ones that matter (kernelLog.events has each)`));
  for (const e of shown.slice(0, KERNEL_LINES_MAX)) {
    const command = e.command ? c.dim(`  → command of frame ${frameLabel(e.command.frame)}`) : '';
    out.push(`  ${rel(e.time!)} after frame ${e.afterFrame === null ? '-' : frameLabel(e.afterFrame)}  ${e.side}: ${safe(e.text)}${command}`);
  }
  if (shown.length > KERNEL_LINES_MAX) out.push(c.dim(`  ${shown.length - KERNEL_LINES_MAX} more lines in the JSON report (kernelLog.events)`));
  for (const w of k.warnings) out.push(c.yellow(`  warning: ${safe(w)}`));
  return out;
}

/** A retry's evidence chain, one step a line, in time order. */
export function evidenceLines(d: RetryDetails, t0: number): string[] {
  return d.evidence.map((e, i) => `${i + 1}. ${(e.time - t0).toFixed(3)}s ${isLineStep(e.step) ? `after frame ${e.frame === null ? '-' : frameLabel(e.frame)}` : `frame ${frameLabel(e.frame)}`}: ${safe(e.what)}`);
}

function paint(c: ChalkInstance, s: Severity): string {
  return s === 'error' ? c.red.bold(s) : s === 'warning' ? c.yellow(s) : c.blue(s);
}

function teardown(events: TcpEvent[], rel: (t: number) => string): string {
  if (events.every((e) => e.kind === 'syn')) return events.some((e) => e.from === 'controller') ? 'no teardown captured' : 'SYN never answered';
  return events.filter((e) => e.kind !== 'syn').map((e) => `${e.from} ${e.kind.toUpperCase()} frame ${frameLabel(e.frame)} at ${rel(e.time)}${e.inFlight ? ` (${e.inFlight} in flight)` : ''}`).join(', ');
}

function ms(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(1)} ms`;
}

function num(v: number | null): string {
  return v === null ? '-' : v < 10 ? v.toFixed(3) : v.toFixed(1);
}
