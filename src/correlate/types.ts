import type { Direction } from '../nvme-tcp/types.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3 };

export type RuleId =
  | 'retry-before-kato' | 'retry-after-kato' | 'retry-after-fence' | 'duplicate-execution' | 'stale-data-after-retry'
  | 'keep-alive-timeout' | 'keep-alive-late' | 'unanswered-command' | 'error-status' | 'term-req' | 'protocol-violation'
  | 'cid-reuse-in-flight' | 'connection-reset' | 'digest-mismatch' | 'capture-gap' | 'unknown-pdu';

/** How long the host must wait after the last controller contact before a retry is safe. */
export type RetryRule = 'kato+cqt' | 'kato' | 'tp4129';

export interface Finding {
  ruleId: RuleId;
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
  details: Record<string, unknown>;
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

export interface TcpEvent {
  conn: number;
  from: 'host' | 'controller';
  kind: 'syn' | 'fin' | 'rst';
  frame: number;
  time: number;
  /** Commands of this connection still without a completion at that moment. */
  inFlight: number;
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

export interface KeepAliveSummary {
  sent: number;
  answered: number;
  maxIntervalMs: number | null;
  medianIntervalMs: number | null;
  maxRttMs: number | null;
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
  tbkas: boolean;
  inferred: boolean;
  firstFrame: number;
  firstTime: number;
  lastControllerContact: { frame: number; time: number } | null;
  lastHostTransmission: { frame: number; time: number } | null;
  fencedBy: { frame: number; time: number; kind: string } | null;
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
