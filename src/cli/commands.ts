import { frameLabel, withFrameObjects } from '../common/frame-ref.js';
import { closeSync, createWriteStream, openSync, writeSync } from 'node:fs';
import { analyzeCapture, analyzeCaptures, type AnalyzeOptions, type SameTrafficOptions } from '../api/analyze-capture.js';
import { listPdus } from '../api/list-pdus.js';
import { DEFAULT_PORTS } from '../nvme-tcp/nvme-tcp-decoder.js';
import { CaptureError, ExitCode, UsageError } from '../common/errors.js';
import { reaches, type CommandRecord, type KernelLogEvent, type Severity, type TraceLineRef } from '../correlate/types.js';
import { tracedLines } from '../report/traced-lines.js';
import { PduLineFormatter } from '../report/pdu-lines.js';
import { escapeControl as safe, hex } from '../common/text.js';
import { renderCommand } from '../report/timeline-text.js';
import type { DecodeStats } from '../decode/types.js';
import type { Report } from '../report/types.js';
import type { CommonOptions } from './main.js';
import { checkOutputFiles, LineWriter } from './output.js';
import { FORMATS, outputFiles, requested, stdoutFormat, writeFormats, type Outcome } from './formats.js';
import { Progress } from './progress.js';

/** `--port` adds to the well-known ports: a capture often mixes them. */
function ports(o: CommonOptions): number[] | undefined {
  return o.port ? [...new Set([...DEFAULT_PORTS, ...o.port])].sort((a, b) => a - b) : undefined;
}

function analyzeOptions(o: CommonOptions, progress: Progress): AnalyzeOptions & SameTrafficOptions {
  return {
    peerOffsetMs: o.peerOffset, vantages: o.vantage,
    ports: ports(o), katoMs: o.kato, cqtMs: o.cqt, rule: o.rule, dmesg: o.dmesg, traces: o.trace, dmesgOffsetMs: o.dmesgOffset, allAssociations: o.allAssociations,
    tlsKeylogs: o.tlsKeylog,
    onProgress: (bytes, total) => progress.update(bytes, total),
  };
}

function color(o: CommonOptions): boolean {
  return o.color && process.stdout.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
}

/** Findings at or above the threshold: the verdict behind exit code 1. */
function failing(report: Report, failOn: Severity | 'none'): number {
  return report.findings.filter((f) => reaches(f.severity, failOn)).length;
}

/** A Perfetto trace streamed into `path` through a small buffer as commands start and end. */
async function perfettoFile(path: string) {
  const { PerfettoWriter } = await import('../report/perfetto.js');
  const fd = openSync(path, 'w');
  let pending = '';
  const flush = () => {
    writeSync(fd, pending);
    pending = '';
  };
  const writer = new PerfettoWriter((text) => {
    pending += text;
    if (pending.length > 1 << 16) flush();
  });
  return {
    writer,
    close(report: Report) {
      writer.finish(report);
      flush();
      closeSync(fd);
    },
  };
}

/**
 * The per-command outputs the options ask for (--html, --perfetto), fed from analyzeCapture's
 * command hooks; `also` receives each ended command too (the timeline's own lines).
 */
async function perCommandOutputs(o: CommonOptions, also?: (c: CommandRecord, t0: number) => void) {
  const collected = o.html ? new (await import('../report/html-report.js')).HtmlCollector() : undefined;
  const trace = typeof o.perfetto === 'string' ? await perfettoFile(o.perfetto) : undefined;
  const hooks: Pick<AnalyzeOptions, 'onCommandStart' | 'onCommand'> & Pick<SameTrafficOptions, 'onPassage'> = {
    onPassage: collected && ((p, t0) => collected.addPassage(p, t0)),
    onCommandStart: trace && ((c) => trace.writer.start(c)),
    onCommand: (c, t0) => {
      collected?.add(c, t0);
      trace?.writer.end(c);
      also?.(c, t0);
    },
  };
  return { collected, hooks, close: (report: Report) => trace?.close(report) };
}

/** Every file the options ask for, checked before any capture is read. */
function checkOutputs(o: CommonOptions): Promise<void> {
  return checkOutputFiles(outputFiles(o));
}

/**
 * The captures as the analysis reads them: one each, or with --same-traffic the two as one
 * (named "HOST + TARGET" in reports and messages).
 */
function units(captures: string[], o: CommonOptions): string[][] {
  if (!o.sameTraffic) {
    if (o.peerOffset !== undefined || o.vantage) throw new UsageError('--peer-offset and --vantage go with --same-traffic');
    return captures.map((c) => [c]);
  }
  if (captures.length !== 2) throw new UsageError(`--same-traffic reads two captures of the same traffic (host side and target side), got ${captures.length}`);
  return [captures];
}

/** One capture, or two of the same traffic read as one. */
function analyzeUnit(files: string[], options: AnalyzeOptions & SameTrafficOptions): Promise<Report> {
  return files.length === 1 ? analyzeCapture(files[0], options) : analyzeCaptures(files, options);
}

async function analyzeAll(captures: string[], o: CommonOptions): Promise<Outcome[]> {
  const groups = units(captures, o);
  for (const f of FORMATS) {
    if (!requested(o, f)) continue;
    if (f.oneCapture && groups.length !== 1) throw new UsageError(f.oneCapture);
    if (f.noStdin && captures[0] === '-') throw new UsageError(f.noStdin);
  }
  await checkOutputs(o);
  if (captures.filter((c) => c === '-').length > 1) throw new CaptureError('-', undefined, 'standard input can be read only once');
  const outcomes: Outcome[] = [];
  for (const files of groups) {
    const file = files.join(' + ');
    const progress = Progress.forStderr(file === '-' ? 'stdin' : file, o.quiet);
    const started = performance.now();
    const seconds = () => Math.round(performance.now() - started) / 1000;
    try {
      if (FORMATS.some((f) => f.perCommand && requested(o, f))) {
        const outputs = await perCommandOutputs(o);
        const report = await analyzeUnit(files, { ...analyzeOptions(o, progress), commandSteps: false, ...outputs.hooks });
        outputs.close(report);
        outcomes.push({ file, report, collected: outputs.collected, seconds: seconds() });
      } else {
        const report = await analyzeUnit(files, analyzeOptions(o, progress));
        outcomes.push({ file, report, seconds: seconds() });
      }
    } catch (error) {
      if (!(error instanceof CaptureError) || groups.length === 1) throw error;
      process.stderr.write(`nvme-tcp-timeline: ${error.message}\n`);
      outcomes.push({ file, error });
    } finally {
      progress.done();
    }
  }
  return outcomes;
}

function writeArtifacts(outcomes: Outcome[], o: CommonOptions): Promise<void> {
  return writeFormats(outcomes, o, { failOn: o.failOn });
}

function exitFor(outcomes: Outcome[], o: CommonOptions): number {
  if (outcomes.some((x) => x.error)) return ExitCode.unreadableCapture;
  return outcomes.some((x) => x.report && failing(x.report, o.failOn) > 0) ? ExitCode.findings : ExitCode.clean;
}

export async function runAnalyze(captures: string[], o: CommonOptions): Promise<number> {
  const outcomes = await analyzeAll(captures, o);
  await writeArtifacts(outcomes, o);
  const reports = outcomes.flatMap((x) => (x.report ? [x.report] : []));
  const onStdout = stdoutFormat(o);
  if (onStdout) {
    process.stdout.write(await onStdout.render!(outcomes, { failOn: o.failOn }));
  } else {
    // Loaded only for text output: chalk and cli-table3 cost start-up time JSON runs need not pay.
    const { renderText } = await import('../report/text-report.js');
    // COLUMNS wins (as for ls and git): a terminal's own width otherwise, 120 for a pipe.
    const width = Number(process.env.COLUMNS) > 0 ? Number(process.env.COLUMNS) : process.stdout.columns ?? 120;
    process.stdout.write(reports.map((r) => renderText(r, { color: color(o), width })).join('\n\n') + '\n');
  }
  return exitFor(outcomes, o);
}

export async function runCheck(captures: string[], o: CommonOptions): Promise<number> {
  const outcomes = await analyzeAll(captures, { ...o, quiet: true });
  await writeArtifacts(outcomes, o);
  if (process.env.GITHUB_ACTIONS === 'true') {
    const { githubAnnotations } = await import('../report/github.js');
    for (const x of outcomes) if (x.report) process.stdout.write(githubAnnotations(x.file, x.report));
  }
  const onStdout = stdoutFormat(o);
  if (onStdout) {
    process.stdout.write(await onStdout.render!(outcomes, { failOn: o.failOn }));
  } else {
    for (const x of outcomes) {
      if (x.error) {
        process.stdout.write(`UNREADABLE  ${safe(x.file)}: ${safe(x.error.problem)}\n`);
        continue;
      }
      const r = x.report!;
      const n = failing(r, o.failOn);
      const f = r.summary.findings;
      const worst = r.findings.filter((g) => reaches(g.severity, o.failOn)).map((g) => g.ruleId);
      process.stdout.write(`${n ? 'FAIL' : 'PASS'}  ${safe(x.file)}  ${f.error} error, ${f.warning} warning, ${f.info} info` +
        (worst.length ? `  (${[...new Set(worst)].join(', ')})` : '') + (r.problems.capture ? '  [capture damaged]' : '') + '\n');
    }
  }
  return exitFor(outcomes, o);
}

export async function runPdus(capture: string, o: CommonOptions & { includeIncomplete?: boolean }): Promise<number> {
  // `pdus` has its own JSON (one line a PDU); every other format and the kernel inputs belong to the analysis.
  const refused = [...FORMATS.filter((f) => f.key !== 'json').map((f) => f.flag), '--dmesg', '--trace'];
  if (FORMATS.some((f) => f.key !== 'json' && requested(o, f)) || o.dmesg || o.trace) {
    throw new UsageError(`pdus lists PDUs only: ${refused.slice(0, -1).join(', ')} and ${refused.at(-1)} go with analyze, timeline or check`);
  }
  await checkOutputs(o);
  // `--json FILE` puts the JSON lines in FILE instead of on stdout.
  const file = typeof o.json === 'string' ? createWriteStream(o.json) : undefined;
  const writer = new LineWriter(file ?? process.stdout);
  const formatter = new PduLineFormatter(o.json !== undefined);
  const progress = Progress.forStderr(capture, o.quiet);
  let decode: DecodeStats | undefined;
  try {
    const result = await listPdus(capture, (pdu) => {
      // Times are relative to the capture's first packet, as Wireshark shows them.
      formatter.setStart(decode?.firstTime ?? pdu.time);
      writer.line(formatter.format(pdu));
    }, {
      ports: ports(o), includeIncomplete: o.includeIncomplete, tlsKeylogs: o.tlsKeylog,
      onStart: (d) => (decode = d),
      onProgress: (b, t) => progress.update(b, t),
      afterChunk: () => writer.betweenChunks(),
      reuseEvents: true, // each PDU is formatted before the next is decoded
    });
    await writer.flush();
    if (file) await new Promise<void>((done) => file.end(done));
    if (result.tlsNotDecrypted) {
      process.stderr.write(`nvme-tcp-timeline: warning: ${capture}: ${result.tlsNotDecrypted} of ${result.tlsConnections} NVMe/TCP connections use TLS and were not decrypted` +
        `${o.tlsKeylog ? ' (analyze says why, per connection)' : ': give --tls-keylog FILE (the SSLKEYLOGFILE of tlshd on the host or the target)'}\n`);
    }
    if (result.problem) {
      process.stderr.write(`nvme-tcp-timeline: warning: ${capture}: byte ${result.problem.byteOffset}: ${result.problem.message} (after frame ${result.problem.afterFrame}); PDUs before it are listed\n`);
    }
  } finally {
    progress.done();
  }
  return ExitCode.clean;
}

function kernelLine(e: KernelLogEvent, t0: number): string {
  const when = e.time === null ? 'not aligned' : `after frame ${e.afterFrame === null ? '-' : frameLabel(e.afterFrame)} +${(e.time - t0).toFixed(6)}s`;
  const command = e.command ? `  → command of frame ${frameLabel(e.command.frame)} (q${e.command.qid} cid ${hex(e.command.cid)})` : '';
  return `  kernel ${e.side} ${when}: ${safe(e.text)}${command}`;
}

function traceLine(t: TraceLineRef, t0: number, files: string[]): string {
  return `  trace ${safe(files[t.source] ?? '?')}:${t.line} after frame ${t.afterFrame === null ? '-' : frameLabel(t.afterFrame)} +${(t.time - t0).toFixed(6)}s: ${safe(t.text)}`;
}

export async function runTimeline(captures: string[], o: CommonOptions & { assoc?: number; qid?: number; cid?: number }): Promise<number> {
  const [files, ...more] = units(captures, o);
  if (more.length > 0) throw new UsageError('timeline reads one capture (or two of the same traffic with --same-traffic)');
  const capture = files.join(' + ');
  const frameObjects = (v: unknown) => (files.length > 1 ? withFrameObjects(v) : v);
  await checkOutputs(o);
  const writer = new LineWriter(process.stdout);
  const progress = Progress.forStderr(capture, o.quiet);
  const json = o.json === true;
  const outputs = await perCommandOutputs(o, (c, t0) => {
    if (o.assoc !== undefined && c.assoc !== o.assoc) return;
    if (o.qid !== undefined && c.qid !== o.qid) return;
    if (o.cid !== undefined && c.cid !== o.cid) return;
    writer.line(json ? JSON.stringify(frameObjects(c)) : renderCommand(c, t0));
  });
  let report: Report;
  try {
    report = await analyzeUnit(files, { ...analyzeOptions(o, progress), ...outputs.hooks, afterChunk: () => writer.betweenChunks() });
    outputs.close(report);
  } finally {
    progress.done();
  }
  const kernel = (report.kernelLog?.events ?? []).filter((e) => o.cid === undefined || e.command?.cid === o.cid);
  const traced = tracedLines(report).filter((t) => o.cid === undefined || t.cid === o.cid);
  const traceFiles = report.kernelTrace?.sources.map((x) => x.file) ?? [];
  if (json) {
    for (const e of kernel) writer.line(JSON.stringify(frameObjects({ kernelEvent: e })));
    for (const t of traced) writer.line(JSON.stringify({ kernelTraceLine: { ...t.line, file: traceFiles[t.line.source], assoc: t.assoc, cid: t.cid } }));
  } else associationStories(report, o, kernel, traced, traceFiles, writer);
  incidentLines(report, o, json ? frameObjects : undefined, writer);
  await writer.flush();
  await writeArtifacts([{ file: capture, report, collected: outputs.collected }], { ...o, json: typeof o.json === 'string' ? o.json : undefined });
  return ExitCode.clean;
}

type TimelineFilter = CommonOptions & { assoc?: number; qid?: number; cid?: number };

/** After the commands: each association's TCP events and kernel lines in one time order. */
function associationStories(
  report: Report, o: TimelineFilter, kernel: KernelLogEvent[], traced: ReturnType<typeof tracedLines>, traceFiles: string[], writer: LineWriter,
): void {
  const t0 = report.capture.firstTime ?? 0;
  if (report.associationsNotListed > 0) {
    for (const p of report.paths) {
      writer.line(`path ${safe(p.path)}: ${p.associations} associations, ${p.withFindings} with findings; ${p.notListed} summarised, not shown below (--all-associations shows every one)`);
    }
  }
  for (const a of report.associations) {
    if (o.assoc !== undefined && a.id !== o.assoc) continue;
    writer.line(`association ${a.id}  ${safe(a.path)}  KATO ${a.katoMs} ms (${a.katoSource})`);
    const ka = a.keepAlive;
    writer.line(`  keep-alives: ${ka.sent} sent, ${ka.answered} answered, max interval ${ka.maxIntervalMs ?? '-'} ms, max RTT ${ka.maxRttMs ?? '-'} ms`);
    if (a.lastControllerContact) writer.line(`  last controller contact: frame ${frameLabel(a.lastControllerContact.frame)} +${(a.lastControllerContact.time - t0).toFixed(6)}s`);
    // TCP events and kernel log lines in one time order: a line sits after the last frame captured before it.
    const story: { time: number; text: string }[] = [];
    for (const q of a.queues) {
      if (o.qid !== undefined && q.qid !== o.qid) continue;
      for (const e of q.teardown) {
        story.push({ time: e.time, text: `  q${q.qid ?? '?'} conn ${q.conn}: ${e.from} ${e.kind.toUpperCase()} frame ${frameLabel(e.frame)} +${(e.time - t0).toFixed(6)}s${e.inFlight ? ` with ${e.inFlight} in flight` : ''}${e.outOfWindow ? ' (outside the receiver\'s window)' : ''}` });
      }
    }
    for (const e of kernel) if (e.assoc === a.id && e.time !== null) story.push({ time: e.time, text: kernelLine(e, t0) });
    for (const t of traced) if (t.assoc === a.id) story.push({ time: t.line.time, text: traceLine(t.line, t0, traceFiles) });
    for (const s of story.sort((x, y) => x.time - y.time)) writer.line(s.text);
  }
  const loose = kernel.filter((e) => e.assoc === null || e.time === null);
  if (loose.length) writer.line('kernel log lines not tied to an association');
  for (const e of loose) writer.line(kernelLine(e, t0));
}

/**
 * Commands stream out as they end, before the incident they belong to is complete: the incidents
 * come last, each naming its commands by submission frame and CID (the key of every line above).
 * `asJson`: JSON lines, through this view of each.
 */
function incidentLines(report: Report, o: TimelineFilter, asJson: ((v: unknown) => unknown) | undefined, writer: LineWriter): void {
  for (const i of report.incidents) {
    const commands = i.commands.filter((c) => (o.assoc === undefined || i.assoc === o.assoc || c.retry?.assoc === o.assoc) && (o.qid === undefined || c.qid === o.qid) && (o.cid === undefined || c.cid === o.cid));
    if ((o.assoc !== undefined || o.qid !== undefined || o.cid !== undefined) && commands.length === 0) continue;
    if (asJson) {
      writer.line(JSON.stringify(asJson({ incident: { id: i.id, severity: i.severity, verdict: i.verdict, assoc: i.assoc, tookOver: i.tookOver, commands } })));
      continue;
    }
    const t0 = report.capture.firstTime ?? 0;
    writer.line(`incident ${i.id} (${i.severity})  ${safe(i.verdict)}`);
    for (const c of commands) {
      writer.line(`  a${i.assoc} q${c.qid ?? '?'} cid ${hex(c.cid)} frame ${frameLabel(c.frame)}: ${c.verdict}` +
        `${c.retry ? ` → retry frame ${frameLabel(c.retry.frame)} on association ${c.retry.assoc} +${(c.retry.time - t0).toFixed(6)}s` : ''}${c.ranTwice ? ', ran twice' : ''}${c.timedOutDuringRecovery ? ', timed out during recovery' : ''}`);
    }
  }
}
