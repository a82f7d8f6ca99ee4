/**
 * What correlation hands to the report besides findings: command records, per-queue, association
 * and path summaries, kernel log and trace parts, recovery episodes, incidents, the TLS section.
 * Re-exported by types.ts; the findings and their details live there.
 */
import type { TlsDecryption, TlsStatus } from '../tls/types.js';
import type { Direction } from '../nvme-tcp/types.js';
import type { FenceKind, KernelLine, RetryRule, Severity, Stamp } from './types.js';

/** One TLS connection in the report's `tls` section: what the record layer found, where. */
export type TlsConnectionSummary = { conn: number; host: string; controller: string } & Omit<TlsStatus, 'clientSide' | 'firstTime' | 'clientRandom'>;

/** NVMe/TCP over TLS: how many connections, how many were decrypted, and each (listed up to a cap). */
export interface TlsReport {
  connections: number;
  decrypted: number;
  byDecryption: Partial<Record<TlsDecryption, number>>;
  /** --tls-keylog as read: null without one. */
  keyLog: { files: string[]; sessions: number; secretLines: number; otherLines: number; ignoredLines: number; firstIgnored: { file: string; line: number } | null } | null;
  list: TlsConnectionSummary[];
  notListed: number;
}

export type Outcome = 'completed' | 'error' | 'unanswered-at-close' | 'unanswered-at-end' | 'undecidable';

export interface TimelineStep {
  kind: 'submit' | 'r2t' | 'h2c-data' | 'c2h-data' | 'completion' | 'late-completion' | 'peer-arrival' | 'completion-lost';
  frame: number;
  time: number;
  detail: string;
}

/** A command's whole life, streamed out when it ends (never kept by the report). */
export interface CommandRecord {
  assoc: number;
  /** The association's path (host NQN → subsystem NQN @ controller); '' when the queue never joined one. */
  path: string;
  conn: number;
  qid: number | null;
  cid: number;
  opcode: number;
  opcodeName: string;
  admin: boolean;
  nsid: number;
  slba?: number;
  nlb?: number;
  submitFrame: number;
  submitTime: number;
  completeFrame?: number;
  completeTime?: number;
  latencyMs?: number;
  status?: { sct: number; sc: number; crd: number; more: boolean; dnr: boolean; name: string };
  outcome: Outcome;
  steps: TimelineStep[];
  /** Set when it was resubmitted on another association. */
  retriedAt?: number;
  /** Set when it is itself the resubmission of an earlier command. */
  retryOf?: number;
  /**
   * With a target-side capture that watched its connection (--same-traffic): its capsule arriving
   * there and its completion leaving (frames and times on the host clock); `completionLost`: the
   * completion never reached the host.
   */
  peer?: { arrivedFrame: number | null; arrivedTime: number | null; completedFrame: number | null; completedTime: number | null; completionLost: boolean };
}

/** What is known of a command when it is submitted (onCommandStart): its identity, not yet its fate. */
export type CommandStart = Pick<CommandRecord, 'assoc' | 'path' | 'conn' | 'qid' | 'cid' | 'opcode' | 'opcodeName' | 'admin' | 'nsid' | 'slba' | 'nlb' | 'submitFrame' | 'submitTime'>;

export interface TcpEvent {
  conn: number;
  from: 'host' | 'controller';
  kind: 'syn' | 'fin' | 'rst';
  frame: number;
  time: number;
  /** Commands of this connection still without a completion at that moment. */
  inFlight: number;
  /** An RST outside the receiver's window: it ended nothing (absent otherwise). */
  outOfWindow?: true;
}

export interface QueueSummary {
  conn: number;
  qid: number | null;
  /** How the queue id is known: from a Connect, or inferred. */
  qidSource: 'connect' | 'keep-alive' | 'property-access' | 'unknown';
  sqsize: number | null;
  host: string;
  controller: string;
  firstFrame: number;
  lastFrame: number;
  teardown: TcpEvent[];
  commands: number;
  inFlightAtEnd: number;
  gaps: number;
  bytesLost: number;
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface KeepAliveSummary {
  sent: number;
  answered: number;
  maxIntervalMs: number | null;
  medianIntervalMs: number | null;
  maxRttMs: number | null;
  /** Interval between keep-alives and their round-trip time, as percentiles: no list of every keep-alive. */
  intervalMs: Percentiles;
  rttMs: Percentiles;
  /** Intervals longer than Linux's schedule explains (KATO/2, or two KATO/4 periods with TBKAS). */
  late: number;
}

export interface AssociationSummary {
  id: number;
  /** Same path = same host NQN, subsystem NQN and controller address. */
  path: string;
  hostnqn: string | null;
  subnqn: string | null;
  host: string;
  controller: string;
  cntlid: number | null;
  katoMs: number;
  katoSource: 'connect' | '--kato' | 'assumed';
  cqtMs: number;
  cqtSource: 'identify' | '--cqt' | 'none';
  /** From Identify Controller (TP8028 fields): the controller instance's CIU, CIRN (hex) and CCRL; absent when no Identify was captured. */
  instance?: { ciu: number; cirn: string; ccrl: number };
  tbkas: boolean;
  inferred: boolean;
  firstFrame: number;
  firstTime: number;
  /** The last packet from the controller the host could have seen (before it closed the queue the packet came on). */
  lastControllerContact: Stamp | null;
  /** PDUs the controller still sent on queues the host had already closed: the host never saw them. */
  controllerAfterHostClose: { pdus: number; firstFrame: number; firstTime: number; lastFrame: number; lastTime: number } | null;
  lastHostTransmission: Stamp | null;
  fencedBy: (Stamp & { kind: FenceKind }) | null;
  queues: QueueSummary[];
  keepAlive: KeepAliveSummary;
}

export interface OpcodeStats {
  opcode: string;
  queue: 'admin' | 'io';
  count: number;
  completed: number;
  errors: number;
  unanswered: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
}

export interface StreamProblem {
  conn: number;
  dir: Direction;
  kind: string;
  frame: number;
  streamOffset: number;
  length: number;
  message: string;
}

/** How a kernel log was laid on the capture's clock. */
export interface KernelLogAlignment {
  source: number;
  boot: number;
  /** anchors: seconds-since-boot lines placed by events the capture also shows; wall-clock: their own time (+ --dmesg-offset); none: not placed. */
  method: 'anchors' | 'wall-clock' | 'none';
  /** Capture time minus log time, seconds (uptime logs), or the --dmesg-offset applied (wall-clock). */
  offsetS: number | null;
  anchors: { kind: 'controller-created' | 'new-ctrl' | 'reconnected'; line: number; frame: number; assoc: number; offsetS: number }[];
  /** Largest disagreement between an anchor and the offset used, ms. */
  residualMs: number | null;
  message: string;
}

/** One recognised kernel log line, placed on the capture's clock when its log could be aligned. */
export interface KernelLogEvent {
  source: number;
  line: number;
  side: 'host' | 'target';
  kind: string;
  text: string;
  /** Capture time (epoch seconds) and the last frame before it; null when its log could not be aligned. */
  time: number | null;
  afterFrame: number | null;
  /** The association the line is about, when it could be tied to one. */
  assoc: number | null;
  /** The captured command a timeout line names; `qidFromLog`: its queue was numbered by the line (the capture holds no Connect for it). */
  command: { frame: number; qid: number; cid: number; qidFromLog: boolean } | null;
}

export interface KernelLogReport {
  /** `longLines`: lines longer than the reader keeps, read only in part. */
  sources: { file: string; format: string; lines: number; events: number; longLines: number }[];
  alignment: KernelLogAlignment[];
  events: KernelLogEvent[];
  /** Events past the list's cap, counted (those outside the capture's time span among them). */
  eventsNotListed: number;
  /** Events far outside the capture's time span: counted, never kept. */
  eventsOutsideCapture: number;
  warnings: string[];
  /** What the log taught that the capture could not say (a queue's number, say). */
  notes: string[];
}

/** How one --trace file was laid on the capture's clock. */
export interface KernelTraceAlignment {
  source: number;
  /** anchors: commands the trace set up (or the target received) paired with the capture's SQEs; none: not placed. */
  method: 'anchors' | 'none';
  /** Capture time minus trace time, seconds: the median of the anchors that agree. */
  offsetS: number | null;
  /** Anchors that agree (within the window), of all pairings tried. */
  anchors: number;
  pairings: number;
  /** The first agreeing anchors: the trace line, the capture frame, and its offset. */
  sample: { line: number; frame: number; event: string; offsetS: number }[];
  /** Largest distance of an agreeing anchor from the offset used, ms. */
  residualMs: number | null;
  /**
   * With --dmesg placed by anchors: this offset minus the log's, ms. Near 0 the trace clock reads as
   * the log's (`global`); tens of ms and more, it does not (`local` on a stable TSC). A check, never a substitute.
   */
  dmesgDifferenceMs: number | null;
  message: string;
}

export interface KernelTraceReport {
  sources: { file: string; format: string; lines: number; events: number; decoded: number; malformed: number; longLines: number }[];
  alignment: KernelTraceAlignment[];
  /** Retry findings the trace spoke to, and how it tied each to its original. */
  retries: { traced: number; requeued: number; failedOver: number; differentRequest: number; unknown: number };
  /** Commands the target's trace shows executed twice (original and retry both completed). */
  executedTwice: number;
  warnings: string[];
}

/** A path (host NQN + subsystem NQN + controller address) over the whole capture: aggregates of every association it had. */
export interface PathSummary {
  path: string;
  hostnqn: string | null;
  subnqn: string | null;
  controller: string;
  associations: number;
  /** Associations with at least one finding. */
  withFindings: number;
  /** How long each association lived, first frame to last packet (ms). */
  lifetimeMs: { min: number | null; p50: number | null; max: number | null };
  /** From one association's end to the next one's first frame (ms). */
  reconnectDelayMs: { min: number | null; p50: number | null; max: number | null };
  /** Associations listed in full in `associations` (findings or unanswered commands, the first and the last), and the rest, counted. */
  listed: number;
  notListed: number;
}

/** One break in service on a path: from the last contact with the old controller to the association that took over. */
export interface RecoveryEpisode {
  path: string;
  /** The association that ended, and the one that took over (null: none did before the capture ended). */
  endedAssoc: number;
  tookOver: number | null;
  lastControllerContact: Stamp | null;
  /** What the capture says ended it: I/O timeout, keep-alive timeout, controller close, TermReq, controller disabled or shut down (CC), or host disconnect. */
  trigger: string;
  /** The old association's first FIN or RST. */
  teardown: (Stamp & { from: 'host' | 'controller'; kind: 'fin' | 'rst' }) | null;
  /** Connections in between that never became a queue: SYN unanswered, or refused (RST). */
  attempts: { unanswered: number; refused: number };
  /** The new association's last Connect response: service restored. */
  restored: Stamp | null;
  restoredAfterMs: number | null;
  retries: { beforeKato: number; afterKato: number; afterFence: number };
}

/** One command caught in an incident: what happened to it, from its submission to its retry and beyond. */
export interface IncidentCommand {
  qid: number | null;
  cid: number;
  opcode: string;
  slba: number | null;
  nlb: number | null;
  /** The original submission, on the association that broke. */
  frame: number;
  time: number;
  /** The controller's TCP ACK covering it, or the target-side capture's frame showing it arrive (null: not shown). */
  arrival: Stamp | null;
  /** With a target-side capture that watched its connection: did it reach the controller? */
  reachedController?: boolean;
  /** With --dmesg: it timed out while error recovery was already running (failed at once, not after KATO). */
  timedOutDuringRecovery: boolean;
  /** The resubmission, when the capture shows one. */
  retry: (Stamp & { assoc: number; gapMs: number | null }) | null;
  verdict: 'before-kato' | 'after-kato' | 'after-fence' | 'not-retried';
  /** The controller completed the original too (after the host had given up on it): a data-changing command ran twice. */
  ranTwice: boolean;
  lateCompletion: Stamp | null;
  /** The controller still worked on the original after its retry was sent. */
  aliveAfterRetry: boolean;
  severity: Severity;
}

/**
 * One break in service of a path, told as one story: what broke and when, the recovery, the
 * association that took over, the deadline a retry had to wait for, and every command caught.
 */
export interface Incident {
  id: number;
  severity: Severity;
  /** One sentence: the verdict on the incident. */
  verdict: string;
  path: string;
  /** The association that broke and the one that took over (null: none before the capture ended). */
  assoc: number;
  tookOver: number | null;
  trigger: string;
  lastControllerContact: Stamp | null;
  teardown: RecoveryEpisode['teardown'];
  /** With --dmesg: the line that started the host's error recovery. */
  recoveryStart: KernelLine | null;
  attempts: RecoveryEpisode['attempts'];
  restored: Stamp | null;
  restoredAfterMs: number | null;
  /** The last controller contact plus the wait the rule requires: a retry before it is before KATO. */
  deadline: { rule: RetryRule; requiredMs: number; katoMs: number; cqtMs: number; time: number | null } | null;
  /**
   * With a target-side capture: the last command (or Keep Alive) it shows reaching the old controller, and the span
   * in which that controller's keep-alive timer runs out (host clock, epoch seconds).
   */
  controllerTimer?: { frame: number; lastCommandTime: number; runsOutFrom: number; runsOutTo: number };
  counts: {
    commands: number; retried: number; beforeKato: number; afterKato: number; afterFence: number; notRetried: number;
    timedOutDuringRecovery: number; ranTwice: number; aliveAfterRetry: number;
  };
  /** Listed up to a cap (commandsNotListed counts the rest), in submission order. */
  commands: IncidentCommand[];
  commandsNotListed: number;
  /** Indexes into the report's findings of the findings this incident is made of. */
  findings: number[];
  /** Frame ranges holding every frame those findings name: paste into Wireshark's filter bar. */
  wiresharkFilter: string;
  /** First and last frame the incident's findings name. */
  firstFrame: number;
  lastFrame: number;
  firstTime: number;
  lastTime: number;
}

export interface RecoveryReport {
  /** Listed: the first few, every one with a retry before KATO (up to a cap), and the last. */
  episodes: RecoveryEpisode[];
  episodesNotListed: number;
  byPath: {
    path: string;
    episodes: number;
    restoredAfterMs: { min: number | null; p50: number | null; max: number | null };
    triggers: Record<string, number>;
    attempts: { unanswered: number; refused: number };
    retries: { beforeKato: number; afterKato: number; afterFence: number };
  }[];
}

/** The first FIN or RST among the queues' teardown events (each list in time order): where an association went down. */
export function firstTeardown(queues: readonly { teardown: readonly TcpEvent[] }[]): TcpEvent | undefined {
  let first: TcpEvent | undefined;
  for (const q of queues) {
    const e = q.teardown.find((x) => x.kind !== 'syn');
    if (e && (!first || e.time < first.time)) first = e;
  }
  return first;
}
