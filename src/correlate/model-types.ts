/** The correlation model's vocabulary: commands, queues, associations, the events rules hear, and its limits. */
import type { FlagKind } from '../reassembly/types.js';
import type { NvmeConnection, PduEvent, StreamDiagnostic } from '../nvme-tcp/types.js';
import type { LatencyHistogram } from './histogram.js';
import type {
  AssociationSummary, CommandRecord, CommandStart, CrossControllerReset, FenceKind, Outcome, PathSummary, QueueSummary, Stamp, TcpEvent, TimelineStep,
} from './types.js';
import type { OpenCommands } from './open-commands.js';

/** Linux's default keep-alive timeout, used when the capture holds no Connect and --kato is not given. */
export const LINUX_DEFAULT_KATO_MS = 5000;
/** Opcode of the Asynchronous Event Request: outstanding by design, never "unanswered". */
export const ADMIN_AER = 0x0c;

export interface ModelOptions {
  katoMs?: number;
  cqtMs?: number;
  /** Receives every command when it ends. */
  onCommand?: (command: CommandRecord) => void;
  /** Receives every command when it is submitted. */
  onSubmit?: (command: CommandStart) => void;
  /** Record each command's steps for onCommand (the timeline needs them; the HTML view does not). Default: true. */
  commandSteps?: boolean;
  /** Keep a time → frame index (for kernel log lines, which come without frames). */
  frameIndex?: boolean;
  /** List every association in full instead of summarising a path's uneventful ones. */
  allAssociations?: boolean;
}

/** Associations listed in full for their findings or unanswered commands before the rest are only counted. */
export const ASSOCIATION_LIST_CAP = 100;
/** Connections that never became a queue, listed before the rest are only counted. */
export const UNASSOCIATED_LIST_CAP = 50;
/**
 * An unanswered command can be matched as the original of a retry for this long after it was sent
 * (at least; 10 × KATO when that is longer): Linux gives up on a controller after ctrl_loss_tmo,
 * 600 s by default, and fails what it still holds. Past that it is let go and counted.
 */
export const RETAIN_OUTSTANDING_S = 900;

/** What a path's ended associations leave behind: aggregates, not a list (the report's PathSummary is made from it). */
export interface PathStats extends Pick<PathSummary, 'path' | 'hostnqn' | 'subnqn' | 'controller' | 'associations' | 'withFindings' | 'notListed'> {
  /** Milliseconds each association lived (first frame to its last packet). */
  lifetimes: LatencyHistogram;
  /** Milliseconds from an association's end to the next one's first frame on the path. */
  reconnectDelays: LatencyHistogram;
  lastEnd: number | undefined;
  firstListed: AssociationSummary | undefined;
  /** The path's newest ended association not otherwise listed: listed as its last (summarised at the end only). */
  latest: Assoc | undefined;
  /** Listed for findings or unanswered commands. */
  listed: AssociationSummary[];
}

export interface Completion extends Stamp {
  sct: number;
  sc: number;
  crd: number;
  more: boolean;
  dnr: boolean;
}

/** One command instance: a CID on a queue from its capsule to its completion. */
/** A controller instance as a Cross-Controller Reset names it: id, uniquifier, random number (hex). */
export interface ControllerInstance {
  cntlid: number;
  ciu: number;
  cirn: string;
}

export interface Cmd {
  /** Commands live on queues that joined an association (onCommand attaches the queue first). */
  q: AttachedQueue;
  cid: number;
  opcode: number;
  fctype: number | undefined;
  admin: boolean;
  nsid: number;
  slba: number | undefined;
  nlb: number | undefined;
  dataLength: number;
  submit: Stamp;
  /** Retry-matching index key (I/O commands only): the SLBA, -1 without one; the rest of the identity is compared on match. */
  key: number | undefined;
  /** Next outstanding command with the same key (the index keeps a chain, not an array per key). */
  sameKey: Cmd | undefined;
  done: Completion | undefined;
  dataChanging: boolean;
  property: { offset: number; value?: number } | undefined;
  /** Cross-Controller Reset: the impacted controller instance (CDW10 ICID and CIU, CDW12–13 CIRN). */
  resets: ControllerInstance | undefined;
  steps: TimelineStep[] | undefined;
  /** Completion that arrived after the host had closed the queue: the controller ran it, the host never knew. */
  late: Stamp | undefined;
  retriedBy: Cmd | undefined;
  retryOf: Cmd | undefined;
  gapWhileOpen: boolean;
  outcome: Outcome | undefined;
  /**
   * Stream end of the capsule in the host's direction, and the frame and time of the controller
   * ACK covering it (-1: none yet; stamped only for commands a retry can name, those with a `key`).
   * Plain numbers: no object per command on the hot path.
   */
  capsuleEnd: number;
  capsuleAckFrame: number;
  capsuleAckTime: number;
  /** Stream end of the last H2CData sent for it (-1: none), and the controller ACK covering it. */
  dataEnd: number;
  dataAckFrame: number;
  dataAckTime: number;
  /** What another capture of the same traffic (--same-traffic) showed of it; undefined until it shows something. */
  peer: PeerView | undefined;
}

/** A command as the other capture point saw it (the target side, for a host-side capture). */
export interface PeerView {
  /** Its capsule passing the other point: arrival at the controller, not inferred from an ACK. */
  arrived: Stamp | undefined;
  /** Its completion passing the other point. */
  completed: Stamp | undefined;
  /** That completion left the controller and never reached the host. */
  completionLost: boolean;
}

/** A queue that has joined an association: every command's queue. */
export type AttachedQueue = Queue & { assoc: Assoc };

/** A connection seen as an NVMe queue. */
export interface Queue {
  nvme: NvmeConnection;
  assoc: Assoc | undefined;
  qid: number | undefined;
  qidSource: QueueSummary['qidSource'];
  sqsize: number | undefined;
  host: string;
  controller: string;
  open: OpenCommands;
  /** Unanswered commands after close, by CID, for late completions (a shared empty map until the first). */
  orphans: ReadonlyMap<number, Cmd> & Pick<Map<number, Cmd>, 'delete'>;
  hostClosed: Stamp | undefined;
  ctrlClosed: (Stamp & { kind: FlagKind }) | undefined;
  teardown: TcpEvent[];
  commands: number;
  firstFrame: number;
  lastFrame: number;
  lastCtrl: Stamp | undefined;
  lastHost: Stamp | undefined;
  /** Time of the queue's last packet. */
  lastTime: number;
  gaps: number;
  bytesLost: number;
  /** Bytes cut by the snapshot length: reported once per queue, not per packet. */
  snapCut: { bytes: number; segments: number; first: Stamp } | undefined;
  /** A Connect on this queue whose response will carry the controller id. */
  adminConnect: Cmd | undefined;
  /**
   * Host stream offsets the controller must acknowledge for a command's capsule or data to have
   * arrived, in stream order: parallel arrays, so no object is allocated per command.
   */
  awaitingCmd: Cmd[];
  awaitingEnd: number[];
  /** Entries in use are [awaitingHead, awaitingLength): the arrays are reused, never shrunk per ACK. */
  awaitingHead: number;
  awaitingLength: number;
  ended: boolean;
  /** The span another capture watched this connection too (--same-traffic): what it did not show, it did not see. */
  peerSince: number | undefined;
  peerUntil: number | undefined;
}

/** One controller instance seen from the host. */
export interface Assoc {
  id: number;
  hostnqn: string | undefined;
  subnqn: string | undefined;
  hostAddress: string;
  controller: string;
  cntlid: number | undefined;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  cqtMs: number;
  cqtSource: AssociationSummary['cqtSource'];
  tbkas: boolean;
  /** From Identify Controller: which instance of its controller id this is (what a Cross-Controller Reset must name). */
  instance: (ControllerInstance & { ccrl: number }) | undefined;
  inferred: boolean;
  queues: Queue[];
  first: Stamp;
  /** Last packet from the controller on any queue: the controller was alive then (what retry verdicts wait from). */
  lastCtrl: Stamp | undefined;
  /** Last packet from the controller the host could have seen: on a queue it had not closed yet. */
  lastCtrlSeen: Stamp | undefined;
  /** PDUs the controller still sent on queues the host had already closed (completions once the link is back, say). */
  afterHostClose: { pdus: number; first: Stamp; last: Stamp } | undefined;
  lastHost: Stamp | undefined;
  /** Controller state from acknowledged CC writes: a fence is a disable or shutdown of a live controller. */
  enabled: 'yes' | 'no' | 'unknown';
  fences: (Stamp & { kind: FenceKind })[];
  /** Cross-Controller Resets other associations sent for this one's controller, in time order. */
  resets: CrossControllerReset[];
  termReq: Stamp | undefined;
  /**
   * With a target-side capture: the last command, and the last Keep Alive, it shows reaching the controller — what
   * restarts the controller's keep-alive timer (any command with traffic-based keep-alive, a Keep Alive otherwise).
   */
  peerLastCommand: Stamp | undefined;
  peerLastKeepAlive: Stamp | undefined;
  /** Longest controller silence seen while the host kept the association. */
  silence: { from: Stamp; to: Stamp } | undefined;
  kaSent: number;
  kaAnswered: number;
  kaLast: Stamp | undefined;
  /** With TBKAS any completion the host receives counts as a keep-alive. */
  kaClock: Stamp | undefined;
  kaIntervals: LatencyHistogram;
  kaMaxInterval: { ms: number; from: Stamp; to: Stamp } | undefined;
  kaMaxRtt: number | undefined;
  kaOpen: Cmd[];
  hostTeardown: Stamp | undefined;
  /** The admin Connect's response, and the last I/O queue Connect's: when the host saw the association come up. */
  connected: Stamp | undefined;
  ioConnected: Stamp | undefined;
  kaRtts: LatencyHistogram;
  /** Keep-alive intervals above what Linux schedules (see keep-alive-late). */
  kaLate: number;
  /** Findings about this association so far. */
  findings: number;
  ended: boolean;
}

/**
 * What the model tells the rules, in capture order. A rule implements the
 * events it needs; the model never knows which rules listen. A PduEvent is
 * valid only during the call (analysis reuses one per direction): copy what
 * you keep, never the event or its sqe/cqe.
 */
export interface ModelListener {
  /** Every PDU, after the model has applied it. */
  pdu?(q: Queue, p: PduEvent): void;
  commandSubmitted?(cmd: Cmd, p: PduEvent): void;
  /** A CID reused while its previous command had no completion (and no bytes were lost meanwhile). */
  cidReused?(previous: Cmd, p: PduEvent): void;
  /** R2T, H2CData or C2HData for a command (open, or left unanswered at close). */
  commandData?(cmd: Cmd, p: PduEvent): void;
  /** A completion the host received. */
  commandCompleted?(cmd: Cmd, p: PduEvent): void;
  /** A completion that arrived after the host had closed the queue. */
  lateCompletion?(cmd: Cmd, p: PduEvent): void;
  /** A command left without completion when its queue ended. */
  commandUnanswered?(cmd: Cmd, outcome: Outcome): void;
  /** `retry` resubmits `original`, which was left without completion on an earlier association. */
  retry?(original: Cmd, retry: Cmd, p: PduEvent): void;
  /** PDU-level rule broken in a way only the model can tell (unknown CID, data beyond the command). */
  violation?(q: Queue, p: PduEvent, what: string): void;
  tcpFlag?(q: Queue, e: TcpEvent): void;
  diagnostic?(q: Queue, d: StreamDiagnostic): void;
  /** A queue's connection is over: nothing more will happen on it. */
  queueEnded?(q: Queue): void;
  /** Every queue of the association has ended: its aggregates are final (it is folded into its path next). */
  associationEnded?(a: Assoc): void;
  /** End of the capture: every queue has ended. */
  captureEnded?(): void;
}
