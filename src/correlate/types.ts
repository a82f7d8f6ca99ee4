import type { Direction } from '../nvme-tcp/types.js';
import type { TlsDecryption, TlsStatus } from '../tls/types.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3 };

/** Does `s` reach `threshold` (--fail-on, an incident's threshold)? `none` is reached by nothing. */
export function reaches(s: Severity, threshold: Severity | 'none'): boolean {
  return threshold !== 'none' && SEVERITY_RANK[s] >= SEVERITY_RANK[threshold];
}

/** The worse of two severities. */
export function worse(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

/** How long the host must wait after the last controller contact before a retry is safe. */
export type RetryRule = 'kato+cqt' | 'kato' | 'tp4129';

/** A frame and the time it was captured (epoch seconds). */
export interface Stamp {
  frame: number;
  time: number;
}

export type FenceKind = 'cc-disable' | 'cc-shutdown' | 'controller-fin' | 'controller-rst' | 'cross-controller-reset';

/** A Cross-Controller Reset (TP8028) another association sent for this one's controller, and how it ended. */
export interface CrossControllerReset extends Stamp {
  /** The association that sent it. */
  fromAssoc: number;
  /** reset: completed with IRS set (a fence); pending: completed without IRS (the reset ends later, via the CCR log page); failed: an error status. */
  outcome: 'reset' | 'pending' | 'failed';
  status: string;
}

/** One link of a retry's evidence chain, in time order. */
export interface EvidenceStep {
  step:
    | 'original-sent' | 'arrival' | 'last-controller-contact' | 'fence' | 'teardown' | 'kernel-log' | 'kernel-trace' | 'retry'
    | 'r2t-after-retry' | 'c2h-data-after-retry' | 'completion-after-retry';
  /** The packet; for a kernel-log or kernel-trace step, the last frame captured before the line's aligned time (null: before the capture). */
  frame: number | null;
  time: number;
  what: string;
}

/** A step from a kernel log or trace line: its frame is the last one captured before the line, not the line's own. */
export function isLineStep(step: EvidenceStep['step']): boolean {
  return step === 'kernel-log' || step === 'kernel-trace';
}

/** A kernel log line that bears on a finding. */
export interface KernelLine {
  /** Index of the --dmesg file and the line in it (1-based). */
  source: number;
  line: number;
  /** Capture time the line aligns to (epoch seconds), and the last frame before it. */
  time: number;
  afterFrame: number | null;
  text: string;
}

/** What the kernel log adds to a retry finding. */
export interface RetryKernelEvidence {
  /** The line that started error recovery on the original's controller: a command's timeout or a keep-alive failure. */
  trigger: (KernelLine & { command: { frame: number; qid: number; cid: number } | null }) | null;
  /** The original's own timeout line, when the host logged one. */
  originalTimeout: KernelLine | null;
  /** The original timed out while error recovery was already running: failed at once and retried without waiting. */
  duringRecovery: boolean;
}

/** A kernel trace line (--trace) that bears on a finding: which file, which line, placed on the capture's clock. */
export interface TraceLineRef {
  /** Index of the --trace file and the line in it (1-based). */
  source: number;
  line: number;
  time: number;
  afterFrame: number | null;
  text: string;
}

/** What the host's trace says of one command: when the kernel set it up, and how it completed it. */
export interface TracedCommand {
  setup: TraceLineRef | null;
  /** Milliseconds from the setup to the capsule leaving (as the capture saw it): the time in the host's queues. */
  wireDelayMs: number | null;
  /** The block request the command carried: device, first 512-byte sector, sector count. */
  request: { dev: string; sector: number; sectors: number } | null;
  /** nvme_complete_rq: the status the host completed it with (0x371 host aborted, a path error …) and its retry count. */
  completion: (TraceLineRef & { status: number; statusName: string; retries: number | null }) | null;
}

/** What the target's trace says of one command: that the controller received and completed it. */
export interface TargetTraced {
  received: TraceLineRef | null;
  completed: (TraceLineRef & { status: number }) | null;
}

/** What --trace adds to a retry finding. */
export interface RetryTraceEvidence {
  /**
   * How the kernel ties the retry to its original: requeued (the same block request went back to the queue and
   * was sent again), failed-over (completed with a path status and resubmitted, no requeue line), different-request
   * (the original's request ended or a new one for the range was queued before the retry), unknown (a setup not found).
   */
  tie: 'requeued' | 'failed-over' | 'different-request' | 'unknown';
  original: TracedCommand;
  retry: TracedCommand;
  /** The first block_rq_requeue of the original's request after its completion (the decision to retry), and how many followed. */
  requeue: (TraceLineRef & { count: number }) | null;
  /** The line that contradicts the tie (the original's request completing, a new request for the range), when tie is different-request. */
  contradiction: TraceLineRef | null;
  /** From a target-side trace (nvmet events for the controller); null when no trace shows the target. */
  target: { original: TargetTraced; retry: TargetTraced } | null;
}

/** What the controller did for an original after its retry was sent. */
export interface AfterRetryActivity {
  kind: 'r2t' | 'c2h-data' | 'completion';
  frame: number;
  time: number;
  /** Milliseconds after the retry was submitted. */
  afterRetryMs: number;
}

interface RetryIdentity {
  originalFrame: number;
  originalTime: number;
  retryFrame: number;
  originalAssoc: number;
  retryAssoc: number;
  originalQid: number | null;
  originalCid: number;
  opcode: string;
  nsid: number;
  slba: number | null;
  nlb: number | null;
}

export interface RetryDetails extends RetryIdentity {
  lastControllerContactFrame: number | null;
  lastControllerContactTime: number | null;
  gapMs: number | null;
  requiredMs: number;
  rule: RetryRule;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  cqtMs: number;
  cqtSource: AssociationSummary['cqtSource'];
  tbkas: boolean;
  fencedBy: (Stamp & { kind: FenceKind }) | null;
  /** The last Cross-Controller Reset of the original's controller before the retry, when one was sent. */
  crossControllerReset: CrossControllerReset | null;
  trigger: string;
  samePath: boolean;
  uncertain: boolean;
  /** KATO the retry's own association declared in its Connect, when it did. */
  retryAssocKatoMs: number | null;
  /** The controller's TCP ACK covering the command's last byte (its capsule, or its last H2CData when it used R2T); null: it may never have arrived. */
  arrival: Stamp | null;
  /** The ACK covering the capsule alone. */
  capsuleArrival: Stamp | null;
  /** The old queue's first FIN or RST. */
  teardown: (Stamp & { from: 'host' | 'controller'; kind: 'fin' | 'rst' }) | null;
  /** R2T, C2HData or completions the controller sent for the original after the retry. */
  afterRetry: AfterRetryActivity[];
  evidence: EvidenceStep[];
  /** With --dmesg: the log lines behind the retry. */
  kernelLog?: RetryKernelEvidence;
  /**
   * With --dmesg, when the target logged its keep-alive timer expiring for the original's
   * controller: when it gave up, and the retry's margin to that moment (negative: the retry came first).
   */
  controllerGaveUpAt?: KernelLine & { timerSeconds: number; marginMs: number };
  /** With --trace: what the kernel's own trace says of the original and the retry. */
  kernelTrace?: RetryTraceEvidence;
}

export interface TimeoutDuringRecoveryDetails {
  opcode: string;
  qid: number;
  cid: number;
  submitFrame: number;
  /** The timeout line, and the line that had started error recovery before it. */
  timeout: KernelLine;
  recoveryStarted: KernelLine;
  /** The retry finding of this command, if it was retried: its rule and frame. */
  retry: { ruleId: RetryRuleId; frame: number } | null;
  /** With --trace: the host's nvme_complete_rq for the command, the exact moment it was failed back. */
  failedBack?: TraceLineRef & { status: number; statusName: string };
}

export interface DuplicateExecutionDetails extends RetryIdentity {
  /** The original's completion the capture saw after the host closed its queue; null when only the target's trace shows it ran. */
  lateCompletionFrame: number | null;
  lateCompletionTime: number | null;
  hostClosedFrame: number | null;
  /** With --trace: the target's own lines completing the original and the retry. */
  targetTrace?: { original: TraceLineRef; retry: TraceLineRef | null };
}

export interface StaleDataDetails {
  originalFrame: number;
  retryFrame: number;
  dataFrame: number;
  datao: number;
  datal: number;
}

export interface OriginalAliveDetails extends RetryIdentity {
  retryTime: number;
  activity: AfterRetryActivity[];
}

export interface KeepAliveTimeoutDetails {
  silentMs: number;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  lastControllerContactFrame: number;
  untilFrame: number;
  keepAlivesUnanswered: number;
}

export interface KeepAliveLateDetails {
  intervalMs: number;
  expectedMs: number;
  allowedMs: number;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  tbkas: boolean;
}

export interface UnansweredDetails {
  opcode: string;
  outcome: Outcome;
  submitFrame: number;
  closeFrame: number | null;
  retried: boolean;
}

export interface ErrorStatusDetails {
  opcode: string;
  sct: number;
  sc: number;
  status: string;
  crd: number;
  more: boolean;
  dnr: boolean;
}

export interface TermReqDetails {
  type: string;
  fes: number;
  fesName: string | null;
  fei: number | null;
}

export interface ProtocolViolationDetails {
  type: string;
  violation: string;
}

export interface CidReuseDetails {
  previousFrame: number;
  previousOpcode: string;
}

export interface ConnectionResetDetails {
  from: 'host' | 'controller';
  inFlight: { cid: number; opcode: string; frame: number }[];
}

export interface DigestMismatchDetails {
  type: string;
  header: boolean | null;
  data: boolean | null;
}

export type CaptureGapDetails =
  | { cause: 'not-captured'; conn: number; dir: Direction; streamOffset: number; bytes: number }
  | { cause: 'snaplen'; conn: number; bytes: number; segments: number; firstFrame: number };

export type UnknownPduDetails =
  | { kind: 'unknown-type'; type: number; plen: number; hlen: number; dir: Direction }
  | { kind: 'garbage' | 'resync'; conn: number; dir: Direction; streamOffset: number; bytes: number };

/** A TLS connection whose records were not (all) opened: why, and how much was read. */
export interface TlsNotDecryptedDetails {
  conn: number;
  decryption: TlsDecryption;
  version: string | null;
  cipher: string | null;
  clientRandom: string | null;
  records: number;
  undecryptedBytes: number;
}

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

/** The count line that stands for a noisy rule's findings past its cap. */
export interface SuppressedDetails {
  suppressed: number;
}

/** Details by rule id: one shape per rule. */
export interface FindingDetails {
  'retry-before-kato': RetryDetails;
  'retry-after-kato': RetryDetails;
  'retry-after-fence': RetryDetails;
  'duplicate-execution': DuplicateExecutionDetails;
  'stale-data-after-retry': StaleDataDetails;
  'original-alive-after-retry': OriginalAliveDetails;
  'timeout-during-recovery': TimeoutDuringRecoveryDetails;
  'keep-alive-timeout': KeepAliveTimeoutDetails;
  'keep-alive-late': KeepAliveLateDetails;
  'unanswered-command': UnansweredDetails | SuppressedDetails;
  'error-status': ErrorStatusDetails | SuppressedDetails;
  'term-req': TermReqDetails;
  'protocol-violation': ProtocolViolationDetails | SuppressedDetails;
  'cid-reuse-in-flight': CidReuseDetails | SuppressedDetails;
  'connection-reset': ConnectionResetDetails;
  'digest-mismatch': DigestMismatchDetails | SuppressedDetails;
  'capture-gap': CaptureGapDetails | SuppressedDetails;
  'unknown-pdu': UnknownPduDetails | SuppressedDetails;
  'tls-not-decrypted': TlsNotDecryptedDetails | SuppressedDetails;
}

export type RuleId = keyof FindingDetails;

export const RETRY_RULES = ['retry-before-kato', 'retry-after-kato', 'retry-after-fence'] as const;
export type RetryRuleId = (typeof RETRY_RULES)[number];

/** One finding of rule R. */
export interface FindingOf<R extends RuleId> {
  ruleId: R;
  severity: Severity;
  message: string;
  /** Frames that prove it, ascending. */
  frames: number[];
  /** Epoch seconds of the event the finding is about. */
  time: number;
  assoc: number | null;
  qid: number | null;
  cid: number | null;
  /** A Wireshark display filter that shows the finding's packets. */
  wiresharkFilter: string;
  details: FindingDetails[R];
}

/** Any finding: a union discriminated by `ruleId`. */
export type Finding = { [R in RuleId]: FindingOf<R> }[RuleId];

export type RetryFinding = FindingOf<RetryRuleId>;

export function isRetryFinding(f: Finding): f is RetryFinding {
  return (RETRY_RULES as readonly string[]).includes(f.ruleId);
}

export type Outcome = 'completed' | 'error' | 'unanswered-at-close' | 'unanswered-at-end' | 'undecidable';

export interface TimelineStep {
  kind: 'submit' | 'r2t' | 'h2c-data' | 'c2h-data' | 'completion' | 'late-completion';
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
  /** The controller's TCP ACK covering it: it arrived (null: not shown). */
  arrival: Stamp | null;
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
