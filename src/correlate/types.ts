import type { Direction } from '../nvme-tcp/types.js';
import type { TlsDecryption } from '../tls/types.js';
import type { AssociationSummary, Outcome } from './summaries.js';

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
    | 'r2t-after-retry' | 'c2h-data-after-retry' | 'completion-after-retry'
    /** --same-traffic: the last command (or Keep Alive) the target capture shows reaching the old controller. */
    | 'controller-last-command';
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
  /**
   * The controller's TCP ACK covering the command's last byte (its capsule, or its last H2CData when it used R2T); null: it may never have arrived.
   * With a target-side capture (--same-traffic) that shows the capsule arriving: that frame, as `seenAt` too.
   */
  arrival: (Stamp & { seenAt?: number }) | null;
  /** Only with another capture that watched the connection: did the original reach the controller's side? */
  reachedController?: boolean;
  /**
   * With a target-side capture: what it last shows reaching the old controller before the retry that restarts the
   * controller's keep-alive timer — any command with traffic-based keep-alive (the timer then runs out between KATO and
   * twice KATO after it, as it checks once a period), a Keep Alive otherwise (KATO after it) — and when, relative to
   * the retry, the timer runs out (ms; negative: before the retry).
   */
  controllerLastCommand?: Stamp & { keepAlive: boolean; timerEndsAfterRetryMs: { from: number; to: number } };
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
  /** With a target-side capture (--same-traffic): the frames where it shows each arriving and its completion leaving. */
  targetCapture?: { originalArrived: number; originalCompleted: number; retryArrived: number; retryCompleted: number | null };
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
  'unanswered-command': UnansweredDetails;
  'error-status': ErrorStatusDetails;
  'term-req': TermReqDetails;
  'protocol-violation': ProtocolViolationDetails;
  'cid-reuse-in-flight': CidReuseDetails;
  'connection-reset': ConnectionResetDetails;
  'digest-mismatch': DigestMismatchDetails;
  'capture-gap': CaptureGapDetails;
  'unknown-pdu': UnknownPduDetails;
  'tls-not-decrypted': TlsNotDecryptedDetails;
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

/**
 * The line that stands for a rule's findings past its cap (a noisy rule's per association, any
 * rule's past its report-wide cap): its rule, how many, and no details of its own.
 */
export interface CountLine extends Omit<FindingOf<RuleId>, 'details'> {
  details: SuppressedDetails;
}

/** Any finding: a union discriminated by `ruleId`, or a count line (`'suppressed' in details`). */
export type Finding = { [R in RuleId]: FindingOf<R> }[RuleId] | CountLine;

/** A finding that is not a count line. */
export type ListedFinding = Exclude<Finding, CountLine>;

export function isCountLine(f: Finding): f is CountLine {
  return 'suppressed' in f.details;
}

export type RetryFinding = { [R in RetryRuleId]: FindingOf<R> }[RetryRuleId];

/** A retry finding with its details (not the count line of retries past the cap). */
export function isRetryFinding(f: Finding): f is RetryFinding {
  return (RETRY_RULES as readonly string[]).includes(f.ruleId) && !isCountLine(f);
}

export * from './summaries.js';
