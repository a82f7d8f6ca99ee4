import type { SameTrafficReport } from '../merge/types.js';
import type { CaptureProblem } from '../capture/types.js';
import type { AssociationSummary, Finding, KernelLogReport, KernelTraceReport, OpcodeStats, PathSummary, QueueSummary, RecoveryReport, RetryRule, Severity, StreamProblem, TlsReport, Incident } from '../correlate/types.js';

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
    /** Unanswered commands let go without a retry after the retention window (900 s, or 10 × KATO). */
    outstandingEvicted: number;
    /** Bytes that arrived after their direction had ended (past its FIN, after its RST): counted, not decoded. */
    afterEndBytes: number;
    findings: Record<Severity, number>;
  };
  /**
   * Associations listed in full: those with findings or unanswered commands (at most 100), and each
   * path's first and last; every association (with --all-associations). The rest are counted in `paths`.
   */
  associations: AssociationSummary[];
  associationsNotListed: number;
  /** Per path (host NQN + subsystem NQN + controller address): every association's aggregates. */
  paths: PathSummary[];
  /** Every break in service per path, as one story each (listed up to a cap) and per-path aggregates. */
  recovery: RecoveryReport;
  /** NVMe/TCP connections that never reached a queue (refused or abandoned attempts): the first 50, the rest counted. */
  unassociatedConnections: QueueSummary[];
  unassociatedNotListed: number;
  opcodes: OpcodeStats[];
  /** Each break in service as one story, in time order, naming the findings it is made of (they stay in `findings`). */
  incidents: Incident[];
  findings: Finding[];
  /** With --dmesg: the logs, how they were aligned, and their NVMe events on the capture's clock. */
  kernelLog: KernelLogReport | null;
  /** With --trace: how each trace was placed, and what it tied (the lines themselves are in the findings). */
  kernelTrace: KernelTraceReport | null;
  /** NVMe/TCP over TLS: its connections and whether they were decrypted (null when there were none and no --tls-keylog). */
  tls: TlsReport | null;
  /** Several captures of the same traffic read as one (--same-traffic): where each was taken, their clocks, what passed between them. */
  sameTraffic?: SameTrafficReport;
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
