import type { CaptureProblem } from '../capture/types.js';
import type { AssociationSummary, Finding, KernelLogReport, OpcodeStats, QueueSummary, RetryRule, Severity, StreamProblem } from '../correlate/types.js';

export const SCHEMA_VERSION = 1;

/** The analysis of one capture: findings and aggregates only, never a list of every command. */
export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'nvme-tcp-timeline'; version: string };
  capture: {
    file: string;
    format: string;
    compressed: boolean;
    timeResolution: string;
    linkTypes: number[];
    bytes: number;
    frames: number;
    firstTime: number | null;
    lastTime: number | null;
    durationS: number | null;
  };
  options: { rule: RetryRule; katoMs: number | null; cqtMs: number | null; ports: number[]; dmesgOffsetMs: number | null };
  summary: {
    packets: number;
    tcpSegments: number;
    nonTcpPackets: number;
    tcpConnections: number;
    nvmeConnections: number;
    associations: number;
    pdus: number;
    commands: number;
    retransmittedBytes: number;
    lostBytes: number;
    /** Bytes that arrived after their direction had ended (past its FIN, after its RST): counted, not decoded. */
    afterEndBytes: number;
    findings: Record<Severity, number>;
  };
  associations: AssociationSummary[];
  /** NVMe/TCP connections that never reached a queue (refused or abandoned attempts). */
  unassociatedConnections: QueueSummary[];
  opcodes: OpcodeStats[];
  findings: Finding[];
  /** With --dmesg: the logs, how they were aligned, and their NVMe events on the capture's clock. */
  kernelLog: KernelLogReport | null;
  problems: {
    capture: CaptureProblem | null;
    truncatedFrames: number;
    firstTruncatedFrame: number | null;
    malformedPackets: number;
    unsupportedLinkTypes: Record<string, number>;
    streams: StreamProblem[];
    streamsNotListed: number;
  };
}
