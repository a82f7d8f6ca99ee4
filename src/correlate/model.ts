import { LastHitMap } from '../common/last-hit-map.js';
import { append, maxOf, round3 } from '../common/numbers.js';
import { hex } from '../common/text.js';
import type { FlagKind } from '../reassembly/types.js';
import {
  ADMIN_CROSS_CONTROLLER_RESET, ADMIN_KEEP_ALIVE, FABRICS_OPCODE, FCTYPE_CONNECT, FCTYPE_PROPERTY_GET, FCTYPE_PROPERTY_SET, isDataChanging, opcodeName, PROPERTY_CC, statusName,
} from '../nvme-tcp/opcodes.js';
import { PduType, type NvmeConnection, type PduEvent, type PduSink, type Sqe, type StreamDiagnostic } from '../nvme-tcp/types.js';
import { FrameIndex } from './frame-index.js';
import { LatencyHistogram } from './histogram.js';
import type {
  AssociationSummary, CommandRecord, CommandStart, CrossControllerReset, FenceKind, OpcodeStats, Outcome, PathSummary, QueueSummary, Stamp, StreamProblem, TcpEvent, TimelineStep,
} from './types.js';

/** Linux's default keep-alive timeout, used when the capture holds no Connect and --kato is not given. */
export const LINUX_DEFAULT_KATO_MS = 5000;
/** Opcode of the Asynchronous Event Request: outstanding by design, never "unanswered". */
export const ADMIN_AER = 0x0c;
const STREAM_PROBLEM_CAP = 200;

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

/** The impacted controller a Cross-Controller Reset SQE names (base specification 2.3, Figure 522). */
function resetTarget(sqe: Sqe): ControllerInstance {
  const hex32 = (v: number) => v.toString(16).padStart(8, '0');
  return { cntlid: sqe.cdw10 & 0xffff, ciu: (sqe.cdw10 >>> 16) & 0xff, cirn: `0x${hex32(sqe.cdw13)}${hex32(sqe.cdw12)}` };
}

export interface Cmd {
  q: Queue;
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
}

/**
 * A queue's commands in flight, by CID: open addressing with linear probing and deletion by
 * backward shift, so a submission or completion allocates nothing and never rehashes. (A Map that
 * empties on every keep-alive completion shrinks and rebuilds its table each time: the largest
 * single cost in the CPU profile of a day-long keep-alive capture.) Grows with the commands in
 * flight, never with the CIDs seen.
 */
export class OpenCommands {
  private cids = new Int32Array(8).fill(EMPTY_CID);
  private cmds: (Cmd | undefined)[] = new Array<Cmd | undefined>(8).fill(undefined);
  /** Submission order of each slot, for listing in the order commands were sent. */
  private order = new Float64Array(8);
  private mask = 7;
  private shift = 29;
  private count = 0;
  private submitted = 0;

  get size(): number {
    return this.count;
  }

  /** Slots in use: twice the most commands in flight at once, at most (tests check it stays bounded). */
  get capacity(): number {
    return this.mask + 1;
  }

  get(cid: number): Cmd | undefined {
    const cids = this.cids;
    for (let i = this.home(cid); cids[i] !== EMPTY_CID; i = (i + 1) & this.mask) {
      if (cids[i] === cid) return this.cmds[i];
    }
    return undefined;
  }

  /** Adds the command, or replaces the one in flight under its CID. */
  set(cid: number, cmd: Cmd): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const cids = this.cids;
    let i = this.home(cid);
    while (cids[i] !== EMPTY_CID && cids[i] !== cid) i = (i + 1) & this.mask;
    if (cids[i] === EMPTY_CID) this.count++;
    cids[i] = cid;
    this.cmds[i] = cmd;
    this.order[i] = this.submitted++;
  }

  delete(cid: number): void {
    const cids = this.cids;
    const mask = this.mask;
    let i = this.home(cid);
    while (cids[i] !== cid) {
      if (cids[i] === EMPTY_CID) return;
      i = (i + 1) & mask;
    }
    this.count--;
    // Move back every later entry of the probe run that may no longer be reachable past the hole.
    for (let j = (i + 1) & mask; cids[j] !== EMPTY_CID; j = (j + 1) & mask) {
      const k = this.home(cids[j]);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      cids[i] = cids[j];
      this.cmds[i] = this.cmds[j];
      this.order[i] = this.order[j];
      i = j;
    }
    cids[i] = EMPTY_CID;
    this.cmds[i] = undefined;
  }

  /** The commands in flight, in submission order. */
  values(): Cmd[] {
    const slots: number[] = [];
    for (let i = 0; i <= this.mask; i++) if (this.cids[i] !== EMPTY_CID) slots.push(i);
    slots.sort((a, b) => this.order[a] - this.order[b]);
    return slots.map((i) => this.cmds[i] as Cmd);
  }

  /** Fibonacci hashing: CIDs that differ only in high bits (Linux's generation counter) still spread. */
  private home(cid: number): number {
    return Math.imul(cid, 0x9e3779b1) >>> this.shift;
  }

  private grow(): void {
    const { cids, cmds, order } = this;
    const size = (this.mask + 1) * 2;
    this.cids = new Int32Array(size).fill(EMPTY_CID);
    this.cmds = new Array<Cmd | undefined>(size).fill(undefined);
    this.order = new Float64Array(size);
    this.mask = size - 1;
    this.shift--;
    for (let i = 0; i < cids.length; i++) {
      if (cids[i] === EMPTY_CID) continue;
      let j = this.home(cids[i]);
      while (this.cids[j] !== EMPTY_CID) j = (j + 1) & this.mask;
      this.cids[j] = cids[i];
      this.cmds[j] = cmds[i];
      this.order[j] = order[i];
    }
  }
}

/** No CID: CIDs are 16-bit. */
const EMPTY_CID = -1;

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
  finish?(): void;
}

/**
 * The correlation model: connections → queues → associations, command
 * lifecycles, last contact, keep-alive aggregates and retry matching. Keeps
 * only open commands, unanswered ones (they can be retried) and aggregates:
 * finished commands are streamed to `onCommand` and forgotten.
 */
export class Model implements PduSink {
  /** Queues whose connection is still open, by NVMe/TCP connection id. */
  private readonly queues = new LastHitMap<number, Queue>();
  /** Associations with a queue still open, by id (oldest first), and per host and controller address; ended ones are folded into `paths`. */
  private readonly liveById = new Map<number, Assoc>();
  private readonly liveByEnds = new Map<string, Assoc[]>();
  /** Live associations per path (filled once an association's path is known: at its first queue). */
  private readonly liveByPath = new Map<string, Assoc[]>();
  /** Ended queues whose TCP tombstone may still see a late FIN or RST: only their teardown list is kept. */
  private readonly retired = new WeakMap<NvmeConnection, TcpEvent[]>();
  private assocCount = 0;
  readonly paths = new Map<string, PathStats>();
  /** Listed associations by id, for findings that come after they ended. */
  private readonly listedById = new Map<number, { summary: AssociationSummary; path: PathStats; counted: boolean }>();
  /** Associations listed for findings or unanswered commands, over all paths (capped by ASSOCIATION_LIST_CAP). */
  private listedTotal = 0;
  /** Each path's latest association by id (one per path), for findings that come after it ended. */
  private readonly latestById = new Map<number, PathStats>();
  readonly unassociated: QueueSummary[] = [];
  unassociatedNotListed = 0;
  /** Outstanding commands in submission order, for letting go of those no retry can still name. */
  private readonly retention: Cmd[] = [];
  private retentionHead = 0;
  private nextEviction = -Infinity;
  /** Unanswered commands let go after RETAIN_OUTSTANDING_S without a retry. */
  evictedOutstanding = 0;
  /** Unanswered I/O commands by SLBA (head of a chain through `sameKey`): the candidates a retry is matched against. */
  private readonly outstanding = new Map<number, Cmd>();
  /** Per-opcode aggregates by queue kind and name; `opcodeStatsCache` finds them by a numeric key without building names. */
  private readonly opcodeStats = new Map<string, { stats: OpcodeStats; hist: LatencyHistogram }>();
  private readonly opcodeStatsCache = new Map<number, { stats: OpcodeStats; hist: LatencyHistogram }>();
  readonly streamProblems: StreamProblem[] = [];
  streamProblemsDropped = 0;
  commandCount = 0;
  /** Latest packet time seen. A double from the start: a field that starts undefined boxes every time stored in it. */
  lastTime = -Infinity;
  private readonly keepSteps: boolean;
  /** Per event, the handlers of the listeners that implement it: an event nobody listens to costs nothing per PDU. */
  private readonly on: { [E in keyof ModelListener]-?: NonNullable<ModelListener[E]>[] } = {
    pdu: [], commandSubmitted: [], cidReused: [], commandData: [], commandCompleted: [], lateCompletion: [], commandUnanswered: [],
    retry: [], violation: [], tcpFlag: [], diagnostic: [], queueEnded: [], associationEnded: [], finish: [],
  };

  /** Time → frame, when asked for. */
  readonly frames: FrameIndex | undefined;

  constructor(private readonly options: ModelOptions) {
    this.keepSteps = options.onCommand !== undefined && options.commandSteps !== false;
    this.frames = options.frameIndex ? new FrameIndex() : undefined;
  }

  listen(listener: ModelListener): void {
    for (const event of Object.keys(this.on) as (keyof ModelListener)[]) {
      const handler = listener[event];
      if (handler) (this.on[event] as unknown[]).push(handler.bind(listener));
    }
  }

  // ---- PduSink ----

  connection(nvme: NvmeConnection): void {
    const tcp = nvme.tcp;
    const hostSide = nvme.hostSide ?? 0;
    const h = tcp.endpoints[hostSide];
    const c = tcp.endpoints[hostSide ^ 1];
    const q: Queue = {
      nvme, assoc: undefined, qid: undefined, qidSource: 'unknown', sqsize: undefined,
      host: endpoint(h.address, h.port), controller: endpoint(c.address, c.port),
      open: new OpenCommands(), orphans: NO_ORPHANS, hostClosed: undefined, ctrlClosed: undefined, teardown: [], commands: 0,
      firstFrame: tcp.firstFrame, lastFrame: tcp.firstFrame, lastCtrl: undefined, lastHost: undefined, lastTime: tcp.firstTime, gaps: 0, bytesLost: 0,
      snapCut: undefined, adminConnect: undefined, awaitingCmd: NO_CMDS, awaitingEnd: NO_ENDS, awaitingHead: 0, awaitingLength: 0, ended: false,
    };
    this.queues.set(nvme.id, q);
    this.clock(tcp.firstTime);
  }

  packet(nvme: NvmeConnection, fromHost: boolean, frame: number, time: number, peerAcked: number): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.clock(time);
    if (this.frames && time >= this.frames.next) this.frames.add(frame, time);
    q.lastFrame = frame;
    q.lastTime = time;
    // Called for every segment: update stamps in place instead of allocating.
    if (fromHost) {
      q.lastHost = setStamp(q.lastHost, frame, time);
      if (q.assoc) q.assoc.lastHost = setStamp(q.assoc.lastHost, frame, time);
      return;
    }
    q.lastCtrl = setStamp(q.lastCtrl, frame, time);
    const a = q.assoc;
    if (a) {
      this.controllerContact(a, q.lastCtrl);
      // After the host closed the queue its packets reach no one: PDUs among them are counted in pdu().
      if (!q.hostClosed || time < q.hostClosed.time) contactSeen(a, frame, time);
    }
    if (q.awaitingHead < q.awaitingLength && q.awaitingEnd[q.awaitingHead] <= peerAcked) this.arrived(q, peerAcked, frame, time);
  }

  tcpFlag(nvme: NvmeConnection, fromHost: boolean, kind: FlagKind, frame: number, time: number, outOfWindow: boolean): void {
    const q = this.queues.get(nvme.id);
    const event: TcpEvent = { conn: nvme.id, from: fromHost ? 'host' : 'controller', kind, frame, time, inFlight: q ? q.open.size : 0 };
    if (outOfWindow) event.outOfWindow = true;
    if (!q) {
      // After both streams ended: the queue is over, but its teardown still lists what came.
      this.retired.get(nvme)?.push(event);
      return;
    }
    this.roleFix(q);
    q.teardown.push(event);
    if (kind !== 'syn') {
      // Even an RST the peer discards says its sender has let the connection go.
      if (fromHost) {
        if (!q.hostClosed) q.hostClosed = { frame, time };
        const a = q.assoc;
        if (a && !a.hostTeardown && (q.qid === 0 || q.qid === undefined)) {
          a.hostTeardown = { frame, time };
          this.checkSilence(a, { frame, time });
        }
      } else if (!q.ctrlClosed) {
        q.ctrlClosed = { frame, time, kind };
      }
    }
    for (const h of this.on.tcpFlag) h(q, event);
  }

  diagnostic(d: StreamDiagnostic, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q && !this.retired.has(nvme)) return;
    if (this.streamProblems.length < STREAM_PROBLEM_CAP) {
      this.streamProblems.push({ conn: d.conn, dir: d.dir, kind: d.kind, frame: d.frame, streamOffset: d.streamOffset, length: d.length, message: d.message });
    } else this.streamProblemsDropped++;
    if (!q) return;
    if (d.kind === 'gap' || d.kind === 'truncated-pdu') {
      if (d.kind === 'gap') {
        q.gaps++;
        q.bytesLost += d.length;
      }
      for (const c of q.open.values()) c.gapWhileOpen = true;
    }
    if (d.kind === 'gap' && d.cause === 'snaplen') {
      if (!q.snapCut) q.snapCut = { bytes: 0, segments: 0, first: { frame: d.frame, time: d.time } };
      q.snapCut.bytes += d.length;
      q.snapCut.segments++;
    }
    for (const h of this.on.diagnostic) h(q, d);
  }

  closed(nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.endQueue(q);
  }

  /** Keeps nothing of `p` or its sqe/cqe: analysis reuses them (reuseEvents). */
  pdu(p: PduEvent, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.clock(p.time);
    if (p.dir === 'c2h' && q.hostClosed && p.time >= q.hostClosed.time && q.assoc && !this.isAerCompletion(q, p)) afterHostClose(q.assoc, p.frame, p.time);
    if (p.type === PduType.CapsuleCmd && p.sqe) this.onCommand(q, p);
    else if (p.type === PduType.CapsuleResp && p.cqe) this.onResponse(q, p);
    else if ((p.data || p.r2t) && p.cid !== undefined) this.onData(q, p);
    else if ((p.type === PduType.H2CTermReq || p.type === PduType.C2HTermReq) && q.assoc && !q.assoc.termReq) {
      q.assoc.termReq = { frame: p.frame, time: p.time };
    }
    for (const h of this.on.pdu) h(q, p);
  }

  // ---- commands ----

  private onCommand(q: Queue, p: PduEvent): void {
    const sqe = p.sqe!;
    if (sqe.connect) {
      q.qid = sqe.connect.qid;
      q.qidSource = 'connect';
      q.sqsize = sqe.connect.sqsize;
      this.attachByConnect(q, p);
    } else if (!q.assoc) {
      this.attachInferred(q);
    }
    if (q.qid === undefined && sqe.opcode === ADMIN_KEEP_ALIVE) {
      // Only the admin queue carries Keep Alive.
      q.qid = 0;
      q.qidSource = 'keep-alive';
    } else if (q.qid === undefined && sqe.opcode === FABRICS_OPCODE && (sqe.fctype === FCTYPE_PROPERTY_SET || sqe.fctype === FCTYPE_PROPERTY_GET)) {
      // Property Get/Set travel only on the admin queue.
      q.qid = 0;
      q.qidSource = 'property-access';
    }
    const a = q.assoc!;
    const admin = q.qid === 0;
    const previous = q.open.get(sqe.cid);
    if (previous) {
      // With bytes lost meanwhile its completion may be among them: reuse then proves nothing.
      if (!previous.gapWhileOpen) for (const h of this.on.cidReused) h(previous, p);
      this.finish(previous, 'undecidable');
    }
    const cmd: Cmd = {
      q, cid: sqe.cid, opcode: sqe.opcode, fctype: sqe.fctype, admin, nsid: sqe.nsid, slba: sqe.slba, nlb: sqe.nlb,
      dataLength: sqe.dataLength, submit: { frame: p.frame, time: p.time }, key: undefined, sameKey: undefined, done: undefined,
      dataChanging: isDataChanging(sqe.opcode, admin), property: sqe.property,
      resets: admin && sqe.opcode === ADMIN_CROSS_CONTROLLER_RESET ? resetTarget(sqe) : undefined, steps: undefined,
      late: undefined, retriedBy: undefined, retryOf: undefined, gapWhileOpen: false, outcome: undefined,
      capsuleEnd: -1, capsuleAckFrame: -1, capsuleAckTime: 0, dataEnd: -1, dataAckFrame: -1, dataAckTime: 0,
    };
    if (this.keepSteps) {
      const what = [sqe.slba !== undefined ? `slba ${sqe.slba} nlb ${sqe.nlb}` : '', p.inCapsuleLength ? `in-capsule ${p.inCapsuleLength}` : '']
        .filter(Boolean).join(' ');
      cmd.steps = [{ kind: 'submit', frame: p.frame, time: p.time, detail: `${this.opName(cmd)}${what ? ' ' + what : ''}` }];
    }
    q.open.set(sqe.cid, cmd);
    if (this.options.onSubmit) this.options.onSubmit(this.startOf(cmd));
    if (q.orphans.size > 0) q.orphans.delete(sqe.cid);
    q.commands++;
    this.commandCount++;
    cmd.capsuleEnd = p.streamOffset + p.plen;
    if (sqe.connect && sqe.connect.qid === 0) q.adminConnect = cmd;
    if (admin && sqe.opcode === ADMIN_KEEP_ALIVE) this.keepAliveSent(a, cmd);
    for (const h of this.on.commandSubmitted) h(cmd, p);
    // A queue without a captured Connect counts as an I/O queue until a Keep Alive shows it is the admin queue.
    // A command whose header was cut before CDW12 has no full identity: it is never matched as a retry.
    if (!admin && sqe.opcode !== FABRICS_OPCODE && (p.headerCaptured === undefined || p.headerCaptured >= 60)) {
      // The rest of the identity (nsid, opcode, NLB, subsystem, host) is compared in matchRetry.
      cmd.key = sqe.slba ?? -1;
      // Proof of arrival is only ever asked of a command a retry can name: keep-alives and other
      // admin commands (most commands of a quiet capture) skip the ACK bookkeeping.
      awaitAck(q, cmd, cmd.capsuleEnd);
      this.matchRetry(cmd, p);
      this.addOutstanding(cmd);
    }
  }

  private onResponse(q: Queue, p: PduEvent): void {
    const cqe = p.cqe!;
    const cmd = q.open.get(cqe.cid);
    if (!cmd) {
      const orphan = q.orphans.get(cqe.cid);
      if (orphan && !orphan.late) {
        this.lateCompletion(orphan, p);
        return;
      }
      // Only when the queue's whole stream was captured: else the command may sit in lost bytes.
      if (this.seenWhole(q)) this.violation(q, p, `response for CID ${hex(cqe.cid)}, which has no command in flight`);
      return;
    }
    this.complete(cmd, p, { frame: p.frame, time: p.time, sct: cqe.sct, sc: cqe.sc, crd: cqe.crd, more: cqe.more, dnr: cqe.dnr }, cqe.dw0);
  }

  private onData(q: Queue, p: PduEvent): void {
    const cid = p.cid!;
    const cmd = q.open.get(cid) ?? q.orphans.get(cid);
    if (!cmd) {
      if (this.seenWhole(q)) this.violation(q, p, `${p.typeName} for CID ${hex(cid)}, which has no command in flight`);
      return;
    }
    const offset = p.data ? p.data.datao : p.r2t!.r2to;
    const length = p.data ? p.data.datal : p.r2t!.r2tl;
    if (cmd.dataLength > 0 && offset + length > cmd.dataLength && !p.incomplete) {
      this.violation(q, p, `${p.typeName} covers bytes ${offset}–${offset + length} of a ${cmd.dataLength}-byte command`);
    }
    if (cmd.steps) {
      const kind = p.type === PduType.R2T ? 'r2t' : p.type === PduType.H2CData ? 'h2c-data' : 'c2h-data';
      cmd.steps.push({ kind, frame: p.frame, time: p.time, detail: `offset ${offset} length ${length}${p.data?.last ? ' last' : ''}${p.incomplete ? ' (bytes missing)' : ''}` });
    }
    if (p.type === PduType.H2CData) {
      cmd.dataEnd = p.streamOffset + p.plen;
      cmd.dataAckFrame = -1;
      if (cmd.key !== undefined) awaitAck(q, cmd, cmd.dataEnd);
    }
    for (const h of this.on.commandData) h(cmd, p);
    if (p.type === PduType.C2HData && p.data?.success) {
      if (q.open.get(cid) === cmd) this.complete(cmd, p, { frame: p.frame, time: p.time, sct: 0, sc: 0, crd: 0, more: false, dnr: false }, 0);
      else if (!cmd.late) this.lateCompletion(cmd, p);
    }
    if (p.identify && cmd.q.assoc) {
      const a = cmd.q.assoc;
      a.tbkas = p.identify.tbkas;
      a.instance = { cntlid: p.identify.cntlid, ciu: p.identify.ciu, cirn: p.identify.cirn, ccrl: p.identify.ccrl };
      if (p.identify.cqtMs > 0) {
        a.cqtMs = p.identify.cqtMs;
        a.cqtSource = 'identify';
      }
    }
  }

  private complete(cmd: Cmd, p: PduEvent, done: Completion, dw0: number): void {
    const q = cmd.q;
    q.open.delete(cmd.cid);
    if (q.hostClosed && p.time >= q.hostClosed.time) {
      // The host had closed the queue: it never saw this completion.
      this.lateCompletion(cmd, p);
      this.finish(cmd, 'unanswered-at-close');
      orphan(q, cmd);
      if (cmd.key !== undefined && !cmd.retriedBy) this.retention.push(cmd);
      return;
    }
    const a = q.assoc!;
    const ok = done.sct === 0 && done.sc === 0;
    if (cmd.steps) {
      cmd.steps.push({ kind: 'completion', frame: p.frame, time: p.time, detail: ok ? 'success' : `status ${statusName(done.sct, done.sc)}${done.dnr ? ' DNR' : ''}` });
    }
    cmd.done = done;
    if (cmd.key !== undefined) this.dropOutstanding(cmd);
    if (cmd === q.adminConnect && ok) {
      a.cntlid = dw0 & 0xffff;
      q.adminConnect = undefined;
    }
    if (ok && cmd.opcode === FABRICS_OPCODE && cmd.fctype === FCTYPE_CONNECT) {
      if (q.qid === 0) a.connected = { frame: p.frame, time: p.time };
      else a.ioConnected = { frame: p.frame, time: p.time };
    }
    if (cmd.admin && cmd.opcode === ADMIN_KEEP_ALIVE) this.keepAliveAnswered(a, cmd, p.time);
    if (a.tbkas) a.kaClock = { frame: p.frame, time: p.time };
    if (ok && cmd.opcode === FABRICS_OPCODE && cmd.fctype === FCTYPE_PROPERTY_SET && cmd.property?.offset === PROPERTY_CC) {
      const value = cmd.property.value ?? 0;
      const shn = (value >> 14) & 3;
      if ((value & 1) === 0 || shn !== 0) {
        // Disabling a controller that was never enabled (connect-time init) fences nothing.
        if (a.enabled !== 'no') a.fences.push({ frame: p.frame, time: p.time, kind: shn !== 0 ? 'cc-shutdown' : 'cc-disable' });
        a.enabled = 'no';
      } else a.enabled = 'yes';
    }
    if (cmd.resets) this.crossControllerReset(cmd, done, dw0);
    for (const h of this.on.commandCompleted) h(cmd, p);
    this.finish(cmd, ok ? 'completed' : 'error');
  }

  /**
   * A Cross-Controller Reset completed: the impacted controller is the newest association of the
   * same subsystem with that controller id, still open or holding commands a retry may name. It is
   * fenced only when the completion says the reset is done (IRS, DW0 bit 0).
   */
  private crossControllerReset(cmd: Cmd, done: Completion, dw0: number): void {
    const from = cmd.q.assoc!;
    const ok = done.sct === 0 && done.sc === 0;
    const named = cmd.resets!;
    // The controller id alone may be a later instance's: where Identify gave CIU and CIRN, they must match too.
    const instance = (a: Assoc) => !a.instance || (a.instance.ciu === named.ciu && a.instance.cirn === named.cirn);
    const impacted = (a: Assoc) => a !== from && a.cntlid === named.cntlid && instance(a) && a.subnqn !== undefined && a.subnqn === from.subnqn && a.first.time <= done.time;
    let target: Assoc | undefined;
    const consider = (a: Assoc) => {
      if (impacted(a) && (!target || a.first.time > target.first.time)) target = a;
    };
    for (const a of this.liveById.values()) consider(a);
    // An ended association matters while it holds commands a retry can still name.
    for (const head of this.outstanding.values()) for (let c: Cmd | undefined = head; c; c = c.sameKey) if (c.q.assoc) consider(c.q.assoc);
    if (!target) return;
    const outcome = !ok ? 'failed' : dw0 & 1 ? 'reset' : 'pending';
    target.resets.push({ frame: done.frame, time: done.time, fromAssoc: from.id, outcome, status: ok ? (outcome === 'reset' ? 'IRS set' : 'IRS clear') : statusName(done.sct, done.sc) });
    if (outcome === 'reset') target.fences.push({ frame: done.frame, time: done.time, kind: 'cross-controller-reset' });
  }

  private lateCompletion(cmd: Cmd, p: PduEvent): void {
    cmd.late = { frame: p.frame, time: p.time };
    cmd.steps?.push({ kind: 'late-completion', frame: p.frame, time: p.time, detail: 'completion after the host closed the queue' });
    for (const h of this.on.lateCompletion) h(cmd, p);
  }

  /** The controller acknowledged the host's stream up to `acked`: stamp every capsule and data PDU it covers. */
  private arrived(q: Queue, acked: number, frame: number, time: number): void {
    const cmds = q.awaitingCmd;
    const ends = q.awaitingEnd;
    const length = q.awaitingLength;
    let i = q.awaitingHead;
    for (; i < length && ends[i] <= acked; i++) {
      const cmd = cmds[i];
      const end = ends[i];
      if (end === cmd.capsuleEnd) {
        if (cmd.capsuleAckFrame < 0) {
          cmd.capsuleAckFrame = frame;
          cmd.capsuleAckTime = time;
        }
      } else if (end === cmd.dataEnd) {
        cmd.dataAckFrame = frame;
        cmd.dataAckTime = time;
      }
    }
    if (i === length) {
      q.awaitingHead = 0;
      q.awaitingLength = 0;
    } else q.awaitingHead = i;
  }

  // ---- retries ----

  private matchRetry(retry: Cmd, p: PduEvent): void {
    const a = retry.q.assoc!;
    let original: Cmd | undefined;
    for (let c = this.outstanding.get(retry.key!); c; c = c.sameKey) {
      const ca = c.q.assoc!;
      if (ca === a || c.retriedBy || c.opcode !== retry.opcode || c.nsid !== retry.nsid || c.nlb !== retry.nlb) continue;
      if (!sameHost(ca, a) || !sameSubsystem(ca, a)) continue;
      if (c.submit.time > retry.submit.time) continue;
      original = c;
      break;
    }
    if (!original) return;
    original.retriedBy = retry;
    retry.retryOf = original;
    this.dropOutstanding(original);
    for (const h of this.on.retry) h(original, retry, p);
  }

  /** Appends to the key's chain, so candidates stay in submission order. */
  private addOutstanding(cmd: Cmd): void {
    let c = this.outstanding.get(cmd.key!);
    if (!c) {
      this.outstanding.set(cmd.key!, cmd);
      return;
    }
    while (c.sameKey) c = c.sameKey;
    c.sameKey = cmd;
  }

  private dropOutstanding(cmd: Cmd): void {
    const head = this.outstanding.get(cmd.key!);
    if (head === cmd) {
      if (cmd.sameKey) this.outstanding.set(cmd.key!, cmd.sameKey);
      else this.outstanding.delete(cmd.key!);
    } else {
      for (let c = head; c; c = c.sameKey) {
        if (c.sameKey === cmd) {
          c.sameKey = cmd.sameKey;
          break;
        }
      }
    }
    cmd.sameKey = undefined;
  }

  // ---- associations ----

  private attachByConnect(q: Queue, p: PduEvent): void {
    const connect = p.sqe!.connect!;
    const data = p.connectData;
    if (q.assoc) return;
    if (connect.qid === 0) {
      const a = this.newAssoc(q, p.frame, p.time, false);
      a.hostnqn = data?.hostnqn;
      a.subnqn = data?.subnqn;
      if (connect.katoMs > 0 || this.options.katoMs === undefined) {
        a.katoMs = connect.katoMs;
        a.katoSource = 'connect';
      }
      this.join(a, q);
      return;
    }
    const host = hostAddressOf(q);
    const match = this.latestAssoc(q, (a) =>
      a.controller === q.controller && a.hostAddress === host &&
      (data === undefined || ((a.hostnqn === undefined || a.hostnqn === data.hostnqn) && (a.subnqn === undefined || a.subnqn === data.subnqn) &&
        (a.cntlid === undefined || a.cntlid === data.cntlid))));
    if (match) this.join(match, q);
    else {
      const a = this.newAssoc(q, p.frame, p.time, true);
      a.hostnqn = data?.hostnqn;
      a.subnqn = data?.subnqn;
      a.cntlid = data?.cntlid;
      this.join(a, q);
    }
  }

  /** No Connect captured: join the association of the same host and controller that is still open, or start one. */
  private attachInferred(q: Queue): void {
    const host = hostAddressOf(q);
    const match = this.latestAssoc(q, (a) =>
      a.controller === q.controller && a.hostAddress === host && a.queues.some((o) => !o.hostClosed && !o.ended));
    this.join(match ?? this.newAssoc(q, q.firstFrame, q.nvme.tcp.firstTime, true), q);
  }

  /** The newest live association between this host and controller address that passes `test`: search from the newest. */
  private latestAssoc(q: Queue, test: (a: Assoc) => boolean): Assoc | undefined {
    const list = this.liveByEnds.get(endsKey(hostAddressOf(q), q.controller));
    if (list) for (let i = list.length - 1; i >= 0; i--) if (test(list[i])) return list[i];
    return undefined;
  }

  /** Live associations of a path, oldest first. */
  liveOnPath(path: string): readonly Assoc[] {
    return this.liveByPath.get(path) ?? [];
  }

  private newAssoc(q: Queue, frame: number, time: number, inferred: boolean): Assoc {
    const a: Assoc = {
      id: ++this.assocCount, hostnqn: undefined, subnqn: undefined, hostAddress: hostAddressOf(q), controller: q.controller,
      cntlid: undefined,
      katoMs: this.options.katoMs ?? LINUX_DEFAULT_KATO_MS, katoSource: this.options.katoMs !== undefined ? '--kato' : 'assumed',
      cqtMs: this.options.cqtMs ?? 0, cqtSource: this.options.cqtMs !== undefined ? '--cqt' : 'none', tbkas: false, instance: undefined, inferred,
      queues: [], first: { frame, time }, lastCtrl: undefined, lastCtrlSeen: undefined, afterHostClose: undefined, lastHost: undefined, enabled: inferred ? 'unknown' : 'no', fences: [], resets: [], termReq: undefined,
      silence: undefined, kaSent: 0, kaAnswered: 0, kaLast: undefined, kaClock: undefined, kaIntervals: new LatencyHistogram(),
      kaMaxInterval: undefined, kaMaxRtt: undefined, kaOpen: [], hostTeardown: undefined, connected: undefined, ioConnected: undefined,
      kaRtts: new LatencyHistogram(), kaLate: 0, findings: 0, ended: false,
    };
    this.liveById.set(a.id, a);
    const key = endsKey(a.hostAddress, a.controller);
    const list = this.liveByEnds.get(key);
    if (list) list.push(a);
    else this.liveByEnds.set(key, [a]);
    return a;
  }

  private join(a: Assoc, q: Queue): void {
    q.assoc = a;
    if (a.queues.length === 0) {
      // Its first queue: the NQNs it will have are known now, and so its path.
      const path = assocPath(a);
      const list = this.liveByPath.get(path);
      if (list) list.push(a);
      else this.liveByPath.set(path, [a]);
    }
    a.queues.push(q);
    if (q.lastCtrl) {
      this.controllerContact(a, q.lastCtrl);
      contactSeen(a, q.lastCtrl.frame, q.lastCtrl.time);
    }
    if (q.lastHost && (!a.lastHost || q.lastHost.time > a.lastHost.time)) a.lastHost = setStamp(a.lastHost, q.lastHost.frame, q.lastHost.time);
  }

  /** The association's own stamps are updated in place: copy, never share, a queue's stamp. */
  private controllerContact(a: Assoc, stamp: Stamp): void {
    if (a.lastCtrl && !a.hostTeardown) this.checkSilence(a, stamp);
    if (!a.lastCtrl || stamp.time >= a.lastCtrl.time) a.lastCtrl = setStamp(a.lastCtrl, stamp.frame, stamp.time);
  }

  /** Records the controller's silence up to `until` if it is the longest so far. */
  private checkSilence(a: Assoc, until: Stamp): void {
    const from = a.lastCtrl;
    if (!from) return;
    const ms = (until.time - from.time) * 1000;
    const best = a.silence ? (a.silence.to.time - a.silence.from.time) * 1000 : 0;
    if (ms > best) a.silence = { from: { frame: from.frame, time: from.time }, to: { frame: until.frame, time: until.time } };
  }

  private roleFix(q: Queue): void {
    // Roles can be learnt after the connection was announced (mid-stream start).
    const hostSide = q.nvme.hostSide ?? 0;
    const h = q.nvme.tcp.endpoints[hostSide];
    const c = q.nvme.tcp.endpoints[hostSide ^ 1];
    q.host = endpoint(h.address, h.port);
    q.controller = endpoint(c.address, c.port);
  }

  // ---- keep-alive ----

  private keepAliveSent(a: Assoc, cmd: Cmd): void {
    a.kaSent++;
    a.kaOpen.push(cmd);
    const previous = a.tbkas && a.kaClock && (!a.kaLast || a.kaClock.time > a.kaLast.time) ? a.kaClock : a.kaLast;
    if (previous && !a.hostTeardown) {
      const ms = (cmd.submit.time - previous.time) * 1000;
      a.kaIntervals.add(ms);
      if (ms > keepAliveAllowedMs(a)) a.kaLate++;
      if (!a.kaMaxInterval || ms > a.kaMaxInterval.ms) a.kaMaxInterval = { ms, from: { ...previous }, to: { ...cmd.submit } };
    }
    a.kaLast = cmd.submit;
  }

  private keepAliveAnswered(a: Assoc, cmd: Cmd, time: number): void {
    a.kaAnswered++;
    // By hand: splice allocates the array of removed elements and copyWithin is a slow builtin call,
    // on every keep-alive (nearly always the only one in flight).
    const open = a.kaOpen;
    const i = open.indexOf(cmd);
    if (i >= 0) {
      for (let k = i + 1; k < open.length; k++) open[k - 1] = open[k];
      open.pop();
    }
    const rtt = (time - cmd.submit.time) * 1000;
    a.kaRtts.add(rtt);
    if (a.kaMaxRtt === undefined || rtt > a.kaMaxRtt) a.kaMaxRtt = rtt;
  }

  // ---- ending ----

  private endQueue(q: Queue): void {
    if (q.ended) return;
    q.ended = true;
    this.queues.delete(q.nvme.id);
    this.retired.set(q.nvme, q.teardown);
    for (const cmd of q.open.values()) {
      q.open.delete(cmd.cid);
      const outcome: Outcome = cmd.gapWhileOpen ? 'undecidable' : q.hostClosed || q.ctrlClosed ? 'unanswered-at-close' : 'unanswered-at-end';
      orphan(q, cmd);
      this.finish(cmd, outcome);
      if (cmd.key !== undefined && !cmd.retriedBy) this.retention.push(cmd);
      for (const h of this.on.commandUnanswered) h(cmd, outcome);
    }
    q.awaitingCmd = NO_CMDS;
    q.awaitingEnd = NO_ENDS;
    q.awaitingHead = 0;
    q.awaitingLength = 0;
    for (const h of this.on.queueEnded) h(q);
    const a = q.assoc;
    if (!a) {
      // Never a queue (refused or abandoned connection attempts): a few listed, the rest counted.
      if (this.unassociated.length < UNASSOCIATED_LIST_CAP || this.options.allAssociations) this.unassociated.push(this.queueSummary(q));
      else this.unassociatedNotListed++;
      return;
    }
    if (!a.queues.every((o) => o.ended)) return;
    if (!a.hostTeardown && this.lastTime > -Infinity) {
      // Still open at the end of the capture: the silence runs to the last packet seen.
      this.checkSilence(a, { frame: maxOf(a.queues.map((o) => o.lastFrame)), time: this.lastTime });
    }
    this.endAssociation(a);
  }

  /** Every queue of `a` has ended: tell the rules, then fold it into its path. */
  private endAssociation(a: Assoc): void {
    a.ended = true;
    this.liveById.delete(a.id);
    removeFrom(this.liveByEnds, endsKey(a.hostAddress, a.controller), a);
    removeFrom(this.liveByPath, assocPath(a), a);
    for (const h of this.on.associationEnded) h(a);
    const key = assocPath(a);
    let path = this.paths.get(key);
    if (!path) {
      path = {
        path: key, hostnqn: a.hostnqn ?? null, subnqn: a.subnqn ?? null, controller: a.controller, associations: 0, withFindings: 0,
        lifetimes: new LatencyHistogram(), reconnectDelays: new LatencyHistogram(), lastEnd: undefined, firstListed: undefined, latest: undefined,
        listed: [], notListed: 0,
      };
      this.paths.set(key, path);
    }
    const end = maxOf(a.queues.map((q) => q.lastTime));
    path.associations++;
    path.lifetimes.add((end - a.first.time) * 1000);
    if (path.lastEnd !== undefined) path.reconnectDelays.add(Math.max(0, (a.first.time - path.lastEnd) * 1000));
    path.lastEnd = Math.max(path.lastEnd ?? -Infinity, end);
    if (a.findings > 0) path.withFindings++;
    const pending = a.queues.some((q) => [...q.orphans.values()].some((c) => c.key !== undefined && !c.retriedBy && !c.done));
    const first = path.firstListed === undefined;
    if (!first && !this.options.allAssociations && !((a.findings > 0 || pending) && this.listedTotal < ASSOCIATION_LIST_CAP)) {
      // Kept as the path's latest until a newer one ends; the one it replaces is only counted. Only the last is ever summarised.
      if (path.latest) {
        path.notListed++;
        this.latestById.delete(path.latest.id);
        this.forgetTeardowns(path.latest);
      }
      path.latest = a;
      this.latestById.set(a.id, path);
      return;
    }
    const summary = this.summarize(a);
    if (first) path.firstListed = summary;
    else {
      path.listed.push(summary);
      this.listedTotal++;
    }
    this.listedById.set(a.id, { summary, path, counted: a.findings > 0 });
    if (path.latest) {
      path.notListed++;
      this.latestById.delete(path.latest.id);
      this.forgetTeardowns(path.latest);
      path.latest = undefined;
    }
  }

  /** An association only counted lists no teardown: late flags on its connections have nowhere to go. */
  private forgetTeardowns(a: Assoc): void {
    for (const q of a.queues) this.retired.delete(q.nvme);
  }

  /** A finding names association `id`: count it (once per association) for its path. */
  noteFinding(id: number | null): void {
    if (id === null) return;
    const live = this.liveById.get(id);
    if (live) {
      live.findings++;
      return;
    }
    const listed = this.listedById.get(id);
    if (listed && !listed.counted) {
      listed.counted = true;
      listed.path.withFindings++;
    }
    const latest = this.latestById.get(id);
    if (latest?.latest?.id === id && latest.latest.findings++ === 0) latest.withFindings++;
  }

  /** Ends every queue still open and tells the rules the capture is over. */
  end(): void {
    for (const q of [...this.queues.values()]) this.endQueue(q);
    for (const h of this.on.finish) h();
  }

  /** Every association in a report's order: the listed ones, each path's first and latest among them. */
  associations(): AssociationSummary[] {
    const all: AssociationSummary[] = [];
    for (const p of this.paths.values()) {
      if (p.firstListed) all.push(p.firstListed);
      append(all, p.listed);
      if (p.latest) all.push(this.summarize(p.latest));
    }
    return all.sort((x, y) => x.id - y.id);
  }

  /** Lets go of unanswered commands no retry can still name (see RETAIN_OUTSTANDING_S). */
  private evict(now: number): void {
    this.nextEviction = now + 10;
    const list = this.retention;
    let i = this.retentionHead;
    for (; i < list.length; i++) {
      const cmd = list[i];
      const keepFor = Math.max(RETAIN_OUTSTANDING_S, (10 * (cmd.q.assoc?.katoMs ?? 0)) / 1000);
      if (cmd.submit.time + keepFor > now) break;
      if (cmd.key !== undefined && !cmd.retriedBy && !cmd.done && this.isOutstanding(cmd)) {
        this.dropOutstanding(cmd);
        this.evictedOutstanding++;
      }
    }
    this.retentionHead = i;
    if (i > 1024 && i * 2 > list.length) {
      list.splice(0, i);
      this.retentionHead = 0;
    }
  }

  private isOutstanding(cmd: Cmd): boolean {
    for (let c = this.outstanding.get(cmd.key!); c; c = c.sameKey) if (c === cmd) return true;
    return false;
  }

  private finish(cmd: Cmd, outcome: Outcome): void {
    if (cmd.outcome) return;
    cmd.outcome = outcome;
    const key = (cmd.admin ? 1 << 20 : 0) | (cmd.q.qid === undefined ? 1 << 19 : 0) | (cmd.opcode << 8) | (cmd.fctype ?? 0);
    let entry = this.opcodeStatsCache.get(key);
    if (!entry) {
      // Several opcode/fctype keys can share one row by name (vendor-specific opcodes, say).
      const name = this.opName(cmd);
      const queue = cmd.admin ? 'admin' : 'io';
      entry = this.opcodeStats.get(`${queue}:${name}`);
      if (!entry) {
        entry = {
          stats: { opcode: name, queue, count: 0, completed: 0, errors: 0, unanswered: 0, latencyMs: { p50: null, p90: null, p99: null, max: null } },
          hist: new LatencyHistogram(),
        };
        this.opcodeStats.set(`${queue}:${name}`, entry);
      }
      this.opcodeStatsCache.set(key, entry);
    }
    entry.stats.count++;
    const done = cmd.done;
    if (outcome === 'completed' || outcome === 'error') {
      if (outcome === 'completed') entry.stats.completed++;
      else entry.stats.errors++;
      if (done) entry.hist.add((done.time - cmd.submit.time) * 1000);
    } else entry.stats.unanswered++;
    const sink = this.options.onCommand;
    if (!sink) return;
    // The start's fields, then the fate: one object, in the key order the timeline's JSON lines have.
    const record = this.identityOf(cmd) as CommandRecord;
    record.outcome = outcome;
    record.steps = cmd.steps ?? [];
    withRange(record, cmd);
    if (done) {
      record.completeFrame = done.frame;
      record.completeTime = done.time;
      record.latencyMs = round3((done.time - cmd.submit.time) * 1000);
      record.status = { sct: done.sct, sc: done.sc, crd: done.crd, more: done.more, dnr: done.dnr, name: statusName(done.sct, done.sc) };
    }
    if (cmd.retryOf) record.retryOf = cmd.retryOf.submit.frame;
    sink(record);
    cmd.steps = undefined;
  }

  /** A controller tearing down its admin queue completes the AER it held: routine, not a command the host waited for. */
  private isAerCompletion(q: Queue, p: PduEvent): boolean {
    const cmd = p.cqe ? q.open.get(p.cqe.cid) ?? q.orphans.get(p.cqe.cid) : undefined;
    return cmd !== undefined && cmd.admin && cmd.opcode === ADMIN_AER;
  }

  /** What a command is, for onSubmit and onCommand alike (its LBA range aside). */
  private identityOf(cmd: Cmd): CommandStart {
    return {
      assoc: cmd.q.assoc?.id ?? 0, path: cmd.q.assoc ? assocPath(cmd.q.assoc) : '', conn: cmd.q.nvme.id, qid: cmd.q.qid ?? null, cid: cmd.cid,
      opcode: cmd.opcode, opcodeName: this.opName(cmd), admin: cmd.admin, nsid: cmd.nsid, submitFrame: cmd.submit.frame, submitTime: cmd.submit.time,
    };
  }

  private startOf(cmd: Cmd): CommandStart {
    return withRange(this.identityOf(cmd), cmd);
  }

  private seenWhole(q: Queue): boolean {
    return q.nvme.tcp.sawOpen && q.gaps === 0 && q.snapCut === undefined;
  }

  private violation(q: Queue, p: PduEvent, what: string): void {
    for (const h of this.on.violation) h(q, p, what);
  }

  opName(cmd: Cmd): string {
    return opcodeName(cmd.opcode, cmd.q.qid === undefined ? undefined : cmd.admin, cmd.fctype);
  }

  private clock(time: number): void {
    if (time > this.lastTime) this.lastTime = time;
    if (time >= this.nextEviction) this.evict(time);
  }

  // ---- summaries ----

  opcodeRows(): OpcodeStats[] {
    return [...this.opcodeStats.values()].map((o) => ({ ...o.stats, latencyMs: latency(o.hist) }))
      // Code-unit order, not localeCompare: the same in every locale, and no ICU collator to load at start-up.
      .sort((x, y) => (x.queue !== y.queue ? (x.queue === 'admin' ? -1 : 1) : x.opcode < y.opcode ? -1 : x.opcode > y.opcode ? 1 : 0));
  }

  summarize(a: Assoc): AssociationSummary {
    const intervals = a.kaIntervals;
    return {
      id: a.id, path: pathOf(a), hostnqn: a.hostnqn ?? null, subnqn: a.subnqn ?? null, host: a.hostAddress, controller: a.controller,
      cntlid: a.cntlid ?? null, katoMs: a.katoMs, katoSource: a.katoSource, cqtMs: a.cqtMs, cqtSource: a.cqtSource, tbkas: a.tbkas,
      ...(a.instance ? { instance: { ciu: a.instance.ciu, cirn: a.instance.cirn, ccrl: a.instance.ccrl } } : {}),
      inferred: a.inferred, firstFrame: a.first.frame, firstTime: a.first.time,
      lastControllerContact: a.lastCtrlSeen ? { ...a.lastCtrlSeen } : null,
      controllerAfterHostClose: a.afterHostClose
        ? { pdus: a.afterHostClose.pdus, firstFrame: a.afterHostClose.first.frame, firstTime: a.afterHostClose.first.time, lastFrame: a.afterHostClose.last.frame, lastTime: a.afterHostClose.last.time }
        : null,
      lastHostTransmission: a.lastHost ?? null, fencedBy: a.fences[0] ?? null,
      queues: a.queues.map((q) => this.queueSummary(q)).sort((x, y) => (x.qid ?? 99999) - (y.qid ?? 99999) || x.conn - y.conn),
      keepAlive: {
        sent: a.kaSent, answered: a.kaAnswered,
        maxIntervalMs: a.kaMaxInterval ? round3(a.kaMaxInterval.ms) : null,
        medianIntervalMs: intervals.count ? round3(intervals.quantile(0.5)!) : null,
        maxRttMs: a.kaMaxRtt === undefined ? null : round3(a.kaMaxRtt),
        intervalMs: percentiles(intervals),
        rttMs: percentiles(a.kaRtts),
        late: a.kaLate,
      },
    };
  }

  queueSummary(q: Queue): QueueSummary {
    return {
      conn: q.nvme.id, qid: q.qid ?? null, qidSource: q.qidSource, sqsize: q.sqsize ?? null, host: q.host, controller: q.controller,
      firstFrame: q.firstFrame, lastFrame: q.lastFrame, teardown: q.teardown, commands: q.commands,
      inFlightAtEnd: [...q.orphans.values()].filter((c) => !(c.admin && c.opcode === ADMIN_AER)).length, gaps: q.gaps, bytesLost: q.bytesLost,
    };
  }
}

/** Queues `end` for the controller's ACK; compacts when the consumed head is most of the arrays. */
function awaitAck(q: Queue, cmd: Cmd, end: number): void {
  if (q.awaitingHead > 1024 && q.awaitingHead * 2 > q.awaitingLength) {
    const live = q.awaitingLength - q.awaitingHead;
    q.awaitingCmd.copyWithin(0, q.awaitingHead, q.awaitingLength);
    q.awaitingEnd.copyWithin(0, q.awaitingHead, q.awaitingLength);
    q.awaitingHead = 0;
    q.awaitingLength = live;
  }
  if (q.awaitingCmd === NO_CMDS) {
    // The queue's first command a retry can name: admin queues never get here.
    q.awaitingCmd = [];
    q.awaitingEnd = [];
  }
  q.awaitingCmd[q.awaitingLength] = cmd;
  q.awaitingEnd[q.awaitingLength] = end;
  q.awaitingLength++;
}

/** A controller packet the host could see: the latest is the association's last contact in its header. */
function contactSeen(a: Assoc, frame: number, time: number): void {
  if (!a.lastCtrlSeen || time >= a.lastCtrlSeen.time) a.lastCtrlSeen = setStamp(a.lastCtrlSeen, frame, time);
}

function afterHostClose(a: Assoc, frame: number, time: number): void {
  const late = a.afterHostClose;
  if (!late) a.afterHostClose = { pdus: 1, first: { frame, time }, last: { frame, time } };
  else {
    late.pdus++;
    late.last.frame = frame;
    late.last.time = time;
  }
}

/** Nothing awaiting an ACK yet: shared by every queue, never written (awaitAck gives a queue its own arrays first). */
const NO_CMDS: Cmd[] = Object.freeze([]) as unknown as Cmd[];
const NO_ENDS: number[] = Object.freeze([]) as unknown as number[];

/** No orphans yet: shared by every queue, never written (orphan() gives a queue its own map first). */
const NO_ORPHANS = new Map<number, Cmd>();

function orphan(q: Queue, cmd: Cmd): void {
  if (q.orphans === NO_ORPHANS) q.orphans = new Map();
  (q.orphans as Map<number, Cmd>).set(cmd.cid, cmd);
}

function withRange<T extends CommandStart>(record: T, cmd: Cmd): T {
  if (cmd.slba !== undefined) {
    record.slba = cmd.slba;
    record.nlb = cmd.nlb;
  }
  return record;
}

function endsKey(hostAddress: string, controller: string): string {
  return `${hostAddress} ${controller}`;
}

/** Removes `a` from its list (ends come mostly in start order: found near the front). */
function removeFrom(index: Map<string, Assoc[]>, key: string, a: Assoc): void {
  const list = index.get(key);
  if (!list) return;
  const i = list.indexOf(a);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) index.delete(key);
}

function setStamp(stamp: Stamp | undefined, frame: number, time: number): Stamp {
  if (!stamp) return { frame, time };
  stamp.frame = frame;
  stamp.time = time;
  return stamp;
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function hostAddressOf(q: Queue): string {
  const hostSide = q.nvme.hostSide ?? 0;
  return q.nvme.tcp.endpoints[hostSide].address;
}

/** Same host: same host NQN when both are known, else the same host address. */
function sameHost(x: Assoc, y: Assoc): boolean {
  return x.hostnqn !== undefined && y.hostnqn !== undefined ? x.hostnqn === y.hostnqn : x.hostAddress === y.hostAddress;
}

/** Same subsystem: same NQN when both are known, else the same controller address. */
function sameSubsystem(x: Assoc, y: Assoc): boolean {
  return x.subnqn !== undefined && y.subnqn !== undefined ? x.subnqn === y.subnqn : x.controller === y.controller;
}

/** The path string, built once per association (its NQNs are known once its Connect is). */
const pathCache = new WeakMap<Assoc, string>();
export function assocPath(a: Assoc): string {
  let p = pathCache.get(a);
  if (p === undefined) pathCache.set(a, (p = pathOf(a)));
  return p;
}

export function pathOf(a: Assoc): string {
  return `${a.hostnqn ?? a.hostAddress} → ${a.subnqn ?? '?'} @ ${a.controller}`;
}

export { round3 };

function latency(h: LatencyHistogram): OpcodeStats['latencyMs'] {
  return percentiles(h);
}

export function percentiles(h: LatencyHistogram): { p50: number | null; p90: number | null; p99: number | null; max: number | null } {
  const r = (v: number | null) => (v === null ? null : round3(v));
  return { p50: r(h.quantile(0.5)), p90: r(h.quantile(0.9)), p99: r(h.quantile(0.99)), max: h.count ? round3(h.max) : null };
}

/**
 * The longest keep-alive interval Linux's scheduling explains: every KATO/2, or with TBKAS a check
 * every KATO/4 that skips a run after traffic (two periods); slack covers work-queue delay.
 */
export function keepAliveAllowedMs(a: Assoc): number {
  const expected = a.katoMs / (a.tbkas ? 4 : 2);
  return (a.tbkas ? 2 * expected : 1.5 * expected) + 100;
}
