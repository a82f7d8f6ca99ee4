import { inputName, readCapture, type CaptureInput } from '../capture/capture-reader.js';
import type { CaptureInfo, CaptureProblem } from '../capture/types.js';
import { CaptureError } from '../common/errors.js';
import { LinkType, PacketDecoder } from '../decode/packet-decoder.js';
import type { DecodeStats } from '../decode/types.js';
import { TcpReassembler } from '../reassembly/tcp-reassembler.js';
import { DEFAULT_LIMITS, type ReassemblyStats } from '../reassembly/types.js';
import { DEFAULT_PORTS, NvmeTcpDecoder } from '../nvme-tcp/nvme-tcp-decoder.js';
import type { PduSink } from '../nvme-tcp/types.js';
import type { TlsKeyLog } from '../tls/keylog.js';
import { readTlsKeyLogs } from './tls-keylogs.js';
import { Lane } from '../merge/lane.js';
import { Merger, type MergeOptions } from '../merge/merger.js';
import type { MergeSink, SameTrafficReport } from '../merge/types.js';

export interface PipelineOptions {
  /** TCP ports that carry NVMe/TCP (an ICReq on any other port is found too). */
  ports?: number[];
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** Name for messages when the input is a stream. */
  name?: string;
  /** Called before reading with the decode counters, which fill in as the capture is read. */
  onStart?: (decode: DecodeStats) => void;
  /** Awaited after each chunk of the capture: lets output drain. */
  afterChunk?: () => Promise<void> | void;
  /**
   * The sink keeps no part of a PDU event after its call returns: the decoder may overwrite one
   * event per direction instead of allocating one per PDU. Off by default, so events handed to
   * callers (listPdus) can be kept.
   */
  reuseEvents?: boolean;
  /** NSS key log files (SSLKEYLOGFILE) with the secrets of NVMe/TCP-over-TLS connections. */
  tlsKeylogs?: readonly string[];
}

export interface PipelineResult {
  capture: CaptureInfo;
  problem?: CaptureProblem;
  decode: DecodeStats;
  reassembly: ReassemblyStats;
  pdus: number;
  /** TCP connections that carried NVMe/TCP. */
  nvmeConnections: number;
  /** The --tls-keylog files as read (undefined without). */
  tlsKeyLog: TlsKeyLog | undefined;
}

/**
 * Runs capture → decode → reassembly → NVMe/TCP framing, pushing every PDU
 * into `sink`. The only asynchronous step is reading the file.
 */
export async function runPipeline(input: CaptureInput, sink: PduSink, options: PipelineOptions = {}): Promise<PipelineResult> {
  const tlsKeyLog = options.tlsKeylogs?.length ? readTlsKeyLogs(options.tlsKeylogs) : undefined;
  return decodeCapture(input, sink, options, tlsKeyLog);
}

export interface MultiPipelineResult {
  /** Per capture, in input order. */
  runs: PipelineResult[];
  /** The host-side capture's index among the inputs. */
  hostIndex: number;
  sameTraffic: SameTrafficReport;
  /** The most PDUs one connection held waiting for their twin. */
  peakWaiting: number;
}

/**
 * Several captures of the same traffic: each decoded on its own up to PDUs, concurrently, its
 * events merged in time order (src/merge) into one sink. A capture that runs ahead waits after
 * its chunk until the others catch up, so what is held stays what the captures' clocks disagree by.
 */
export async function runPipelines(inputs: CaptureInput[], sink: MergeSink, options: PipelineOptions & MergeOptions = {}): Promise<MultiPipelineResult> {
  const tlsKeyLog = options.tlsKeylogs?.length ? readTlsKeyLogs(options.tlsKeylogs) : undefined;
  const lanes = inputs.map((input, i) => new Lane(i, inputName(input, {})));
  // The caller's onStart gets the host-side capture's counters, once the probe knows which that is.
  const stats: DecodeStats[] = [];
  const merger = new Merger(lanes, sink, { ...options, onHost: (i) => options.onStart?.(stats[i]) });
  let wake: (() => void)[] = [];
  let failed = false;
  const pumped = () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  };
  const runs = await Promise.all(inputs.map(async (input, i) => {
    const lane = lanes[i];
    const run = await decodeCapture(input, lane, {
      ...options, reuseEvents: false, onProgress: i === 0 ? options.onProgress : undefined, onStart: (d) => (stats[i] = d),
      afterChunk: async () => {
        merger.pump();
        pumped();
        while (!failed && merger.shouldWait(lane)) await new Promise<void>((resolve) => wake.push(resolve));
        await options.afterChunk?.();
      },
    }, tlsKeyLog).catch((e: unknown) => {
      failed = true; // the others stop waiting for this one
      pumped();
      throw e;
    });
    lane.ended = true;
    merger.pump();
    pumped();
    return run;
  }));
  merger.finish();
  const sameTraffic = merger.report(runs.map((r, i) => ({ file: lanes[i].file, frames: r.capture.frames, problem: r.problem ?? null })));
  return { runs, hostIndex: lanes.findIndex((l) => l.code === 0), sameTraffic, peakWaiting: merger.peakWaiting };
}

async function decodeCapture(input: CaptureInput, sink: PduSink, options: PipelineOptions, tlsKeyLog: TlsKeyLog | undefined): Promise<PipelineResult> {
  const nvme = new NvmeTcpDecoder(sink, { ports: options.ports ?? DEFAULT_PORTS, reuseEvents: options.reuseEvents, tlsKeyLog });
  const reassembler = new TcpReassembler(nvme, DEFAULT_LIMITS);
  const decoder = new PacketDecoder(reassembler);
  options.onStart?.(decoder.stats);
  const read = await readCapture(input, decoder, { onProgress: options.onProgress, name: options.name, afterChunk: options.afterChunk });
  decoder.finish();
  reassembler.finish();
  const stats = decoder.stats;
  const unsupported = Object.keys(stats.unsupportedLinkTypes);
  if (stats.packets > 0 && unsupported.length > 0 && stats.packets === sumValues(stats.unsupportedLinkTypes)) {
    const name = typeof input === 'string' ? (input === '-' ? '<stdin>' : input) : options.name ?? '<stream>';
    throw new CaptureError(name, undefined, `unsupported link type ${unsupported.join(', ')} (supported: ${supportedList()})`);
  }
  return { capture: read.info, problem: read.problem, decode: stats, reassembly: reassembler.stats, pdus: nvme.pduCount, nvmeConnections: nvme.connectionCount, tlsKeyLog };
}

function sumValues(record: Record<string, number>): number {
  let total = 0;
  for (const v of Object.values(record)) total += v;
  return total;
}

function supportedList(): string {
  return Object.values(LinkType).sort((a, b) => a - b).join(', ');
}
