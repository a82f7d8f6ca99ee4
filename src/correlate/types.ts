import type { FindingDetails, RuleId } from './findings/index.js';
import { RETRY_RULES, type RetryRuleId } from './findings/retry.js';

// A rule's details type lives with its declaration (src/correlate/findings/); the ids and the retry verdicts every reader needs, here too.
export type { FindingDetails, RuleId } from './findings/index.js';
export { RETRY_RULES, type RetryDetails, type RetryIdentity, type RetryRuleId } from './findings/retry.js';

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

/** The count line that stands for a noisy rule's findings past its cap. */
export interface SuppressedDetails {
  suppressed: number;
}


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

/** A filter for the findings of one rule with their details (not its count line): `findings.filter(isFindingOf('capture-gap'))`. */
export function isFindingOf<R extends RuleId>(ruleId: R): (f: Finding) => f is Extract<ListedFinding, { ruleId: R }> {
  return (f): f is Extract<ListedFinding, { ruleId: R }> => f.ruleId === ruleId && !isCountLine(f);
}

/** A retry finding with its details (not the count line of retries past the cap). */
export function isRetryFinding(f: Finding): f is RetryFinding {
  return (RETRY_RULES as readonly string[]).includes(f.ruleId) && !isCountLine(f);
}

export * from './summaries.js';
