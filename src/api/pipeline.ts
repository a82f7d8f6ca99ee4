import { readCapture, type CaptureInput } from '../capture/capture-reader.js';
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
