import { round6 } from '../common/numbers.js';
import type { CaptureInput } from '../capture/capture-reader.js';
import { inputName } from '../capture/capture-reader.js';
import { Correlator, type CorrelationResult } from '../correlate/correlator.js';
import type { CommandRecord, CommandStart, RetryRule } from '../correlate/types.js';
import { DEFAULT_PORTS } from '../nvme-tcp/nvme-tcp-decoder.js';
import { SCHEMA_VERSION, type Report } from '../report/types.js';
import type { DecodeStats } from '../decode/types.js';
import { readKernelLogs } from './kernel-logs.js';
import { readKernelTraces } from './kernel-traces.js';
import { runPipeline, runPipelines, type PipelineOptions, type PipelineResult } from './pipeline.js';
import type { Passage, Vantage } from '../merge/types.js';
import { VERSION } from './version.js';
import type { TlsKeyLog } from '../tls/keylog.js';
import type { TlsReport } from '../correlate/types.js';
import { emptyTlsReport } from '../correlate/rules/tls.js';

export interface AnalyzeOptions {
  ports?: number[];
  /** Keep-alive timeout for associations whose Connect was not captured. */
  katoMs?: number;
  /** Command Quiesce Time when Identify Controller did not report one. */
  cqtMs?: number;
  rule?: RetryRule;
  /** Streams every command's timeline when it ends (the report keeps none); `captureStart` is the first packet's time (the host-side capture's). */
  onCommand?: (command: CommandRecord, captureStart: number) => void;
  /** Streams every command when it is submitted (its identity; its fate comes with onCommand). */
  onCommandStart?: (command: CommandStart, captureStart: number) => void;
  /** Record each command's steps for onCommand (default true); false saves the work when only the outcome is needed. */
  commandSteps?: boolean;
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  afterChunk?: () => Promise<void> | void;
  /** Name used in the report and messages when the input is a stream. */
  name?: string;
  /** Kernel logs of the host and/or target (--dmesg): placed on the capture's clock and matched to its commands. */
  dmesg?: string[];
  /** Kernel traces (--trace: tracefs text or trace-cmd report) of the host and/or target: aligned by the commands they set up. */
  traces?: string[];
  /** NSS key logs (SSLKEYLOGFILE of tlshd, --tls-keylog) for NVMe/TCP over TLS. */
  tlsKeylogs?: string[];
  /** Milliseconds added to wall-clock kernel log times (a known clock difference). */
  dmesgOffsetMs?: number;
  /** List every association in full; by default a path's uneventful ones are summarised and counted. */
  allAssociations?: boolean;
}

export interface SameTrafficOptions {
  /** Offset of the target-side capture's clock (target − host, ms): no alignment from the traffic. */
  peerOffsetMs?: number;
  /** Where each capture was taken, in input order; inferred from the traffic when absent. */
  vantages?: Vantage[];
  /** Each PDU between the two capture points, for drawing; `captureStart` as for onCommand. */
  onPassage?: (passage: Passage, captureStart: number) => void;
}

/** Reads a capture and returns its report. The CLI is an adapter around this. */
export async function analyzeCapture(input: CaptureInput, options: AnalyzeOptions = {}): Promise<Report> {
  return analyze([input], options);
}

/**
 * Reads several captures of the same traffic (host side and target side) as one: one model, one
 * report, every frame a reference naming its capture (src/common/frame-ref.ts).
 */
export async function analyzeCaptures(inputs: CaptureInput[], options: AnalyzeOptions & SameTrafficOptions = {}): Promise<Report> {
  return analyze(inputs, options);
}

async function analyze(inputs: CaptureInput[], options: AnalyzeOptions & SameTrafficOptions): Promise<Report> {
  const rule = options.rule ?? 'kato+cqt';
  const ports = options.ports ?? DEFAULT_PORTS;
  let decode: DecodeStats | undefined;
  const onCommand = options.onCommand;
  const onStart = options.onCommandStart;
  const kernelLogs = options.dmesg?.length ? readKernelLogs(options.dmesg) : undefined;
  const kernelTraces = options.traces?.length ? readKernelTraces(options.traces) : undefined;
  const correlator = new Correlator({
    katoMs: options.katoMs, cqtMs: options.cqtMs, rule, kernelLogs, kernelTraces, dmesgOffsetMs: options.dmesgOffsetMs, allAssociations: options.allAssociations,
    onCommand: onCommand && ((c) => onCommand(c, decode?.firstTime ?? c.submitTime)), commandSteps: options.commandSteps,
    onSubmit: onStart && ((c) => onStart(c, decode?.firstTime ?? c.submitTime)),
  });
  const pipeline: PipelineOptions = {
    ports, onProgress: options.onProgress, afterChunk: options.afterChunk, name: options.name, onStart: (d: DecodeStats) => (decode = d),
    reuseEvents: true, // the model copies what it keeps
    tlsKeylogs: options.tlsKeylogs,
  };
  const onPassage = options.onPassage;
  const passages = onPassage && ((p: Passage) => onPassage(p, decode?.firstTime ?? 0));
  const { run, input, sameTraffic } = await read(inputs, correlator, pipeline, { ...options, onPassage: undefined }, passages);
  const report = reportOf(input, run, correlator.result(), options, rule, ports);
  if (sameTraffic) report.sameTraffic = sameTraffic;
  return report;
}

/** One capture through the pipeline, or several of the same traffic through the merge; the host side's run and input. */
async function read(inputs: CaptureInput[], correlator: Correlator, pipeline: PipelineOptions, options: SameTrafficOptions, onPassage: ((p: Passage) => void) | undefined) {
  if (inputs.length === 1) return { run: await runPipeline(inputs[0], correlator.sink, pipeline), input: inputs[0], sameTraffic: undefined };
  const merged = await runPipelines(inputs, correlator.sink, {
    ...pipeline, offsetS: options.peerOffsetMs === undefined ? undefined : options.peerOffsetMs / 1000, vantages: options.vantages, onPassage,
  });
  return { run: merged.runs[merged.hostIndex], input: inputs[merged.hostIndex], sameTraffic: merged.sameTraffic };
}

/** The report: what the pipeline counted and what correlation found. */
function reportOf(input: CaptureInput, run: PipelineResult, result: CorrelationResult, options: AnalyzeOptions, rule: RetryRule, ports: number[]): Report {
  const counts = result.findingTotals;
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'nvme-tcp-timeline', version: VERSION },
    capture: {
      file: inputName(input, { name: options.name }),
      format: run.capture.format,
      compressed: run.capture.compressed,
      timeResolution: run.capture.timeResolution,
      linkTypes: run.capture.linkTypes,
      bytes: run.capture.bytesRead,
      frames: run.capture.frames,
      firstTime: run.decode.firstTime ?? null,
      lastTime: run.decode.lastTime ?? null,
      durationS: run.decode.firstTime !== undefined && run.decode.lastTime !== undefined ? round6(run.decode.lastTime - run.decode.firstTime) : null,
    },
    options: { rule, katoMs: options.katoMs ?? null, cqtMs: options.cqtMs ?? null, ports, dmesgOffsetMs: options.dmesgOffsetMs ?? null },
    summary: {
      packets: run.decode.packets,
      tcpSegments: run.decode.tcpSegments,
      nonTcpPackets: run.decode.nonIp + run.decode.nonTcp + run.decode.ipFragments,
      tcpConnections: run.reassembly.connections + run.reassembly.ignoredConnections,
      nvmeConnections: run.nvmeConnections,
      associations: result.associationCount,
      pdus: run.pdus,
      commands: result.commands,
      retransmittedBytes: run.reassembly.retransmittedBytes,
      lostBytes: run.reassembly.lostBytes,
      afterEndBytes: run.reassembly.afterEndBytes,
      outstandingEvicted: result.outstandingEvicted,
      findings: counts,
    },
    associations: result.associations,
    associationsNotListed: result.associationsNotListed,
    paths: result.paths,
    recovery: result.recovery,
    unassociatedConnections: result.unassociated,
    unassociatedNotListed: result.unassociatedNotListed,
    opcodes: result.opcodes,
    incidents: result.incidents,
    findings: result.findings,
    kernelLog: result.kernelLog,
    kernelTrace: result.kernelTrace,
    tls: tlsReport(result.tls, run.tlsKeyLog),
    problems: {
      capture: run.problem ?? null,
      truncatedFrames: run.decode.truncatedFrames,
      firstTruncatedFrame: run.decode.firstTruncatedFrame || null,
      malformedPackets: run.decode.malformed,
      unsupportedLinkTypes: run.decode.unsupportedLinkTypes,
      streams: result.streamProblems,
      streamsNotListed: result.streamProblemsDropped,
    },
  };
}

/** The TLS connections the rules summarised, with what the key logs held; null when neither exists. */
function tlsReport(found: TlsReport | null, keyLog: TlsKeyLog | undefined): TlsReport | null {
  if (!found && !keyLog) return null;
  const report = found ?? emptyTlsReport();
  if (keyLog) {
    report.keyLog = {
      files: keyLog.files, sessions: keyLog.sessionCount, secretLines: keyLog.secretLines, otherLines: keyLog.otherLines,
      ignoredLines: keyLog.ignoredLines, firstIgnored: keyLog.firstIgnored ?? null,
    };
  }
  return report;
}
