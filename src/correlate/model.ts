import { LastHitMap } from '../common/last-hit-map.js';
import { maxOf } from '../common/numbers.js';
import { hex } from '../common/text.js';
import type { FlagKind } from '../reassembly/types.js';
import {
  ADMIN_CROSS_CONTROLLER_RESET, ADMIN_KEEP_ALIVE, FABRICS_OPCODE, FCTYPE_CONNECT, FCTYPE_PROPERTY_SET, isDataChanging, opcodeName, PROPERTY_CC, statusName,
} from '../nvme-tcp/opcodes.js';
import {
  PduType, type CapsuleCmdPdu, type CapsuleRespPdu, type Cqe, type DataPdu, type NvmeConnection, type PduEvent, type R2TPdu, type Sqe, type StreamDiagnostic,
} from '../nvme-tcp/types.js';
import type { MergeSink } from '../merge/types.js';
import { FrameIndex } from './frame-index.js';
import type {
  AssociationSummary, OpcodeStats, Outcome, TcpEvent,
} from './types.js';
import { ReportListing } from './report-listing.js';
import { queueSummary, summarize } from './model-summaries.js';
import { arrivedUpTo, commandRecord, commandStart, crossControllerReset } from './command-lifecycle.js';
import { peerLost, peerSighting, peerWatch } from './peer-view.js';
import { AssociationRegistry, ccWritten, checkSilence, closedBy, controllerContact, isAttached } from './associations.js';
import { keepAliveAnswered, keepAliveSent } from './keep-alive-tracking.js';
import { OpcodeStatistics } from './opcode-stats.js';
import { RetryIndex } from './retry-index.js';
import { OpenCommands } from './open-commands.js';
import {
  afterHostClose, awaitAck, bytesMissing, learnAdminQueue, contactSeen, endpoint, NO_CMDS, NO_ENDS, NO_ORPHANS, orphan, resetTarget, setStamp,
} from './model-helpers.js';
import {
  ADMIN_AER,
  type Assoc, type Cmd, type Completion, type ModelListener, type ModelOptions, type PathStats, type Queue,
} from './model-types.js';

export * from './model-types.js';
export { OpenCommands } from './open-commands.js';
export { assocPath, keepAliveAllowedMs, pathOf, percentiles, round3 } from './model-helpers.js';
export { watchedAt } from './peer-view.js';

/**
 * The correlation model: connections → queues → associations, command
 * lifecycles, last contact, keep-alive aggregates and retry matching. Keeps
 * only open commands, unanswered ones (they can be retried) and aggregates:
 * finished commands are streamed to `onCommand` and forgotten.
 */
export class CorrelationModel implements MergeSink {
  /** Queues whose connection is still open, by NVMe/TCP connection id. */
  private readonly queues = new LastHitMap<number, Queue>();
  /** Associations with a queue still open; ended ones are folded into `paths`. */
  private readonly live: AssociationRegistry;
  /** Ended queues whose TCP tombstone may still see a late FIN or RST: only their teardown list is kept. */
  private readonly retired = new WeakMap<NvmeConnection, TcpEvent[]>();
  /** What the report lists of what was seen, capped there. */
  readonly listing: ReportListing;
  /** The unanswered commands a retry can name. */
  private readonly retries = new RetryIndex();
  private readonly opcodes = new OpcodeStatistics((cmd) => this.opName(cmd));
  commandCount = 0;
  /** Latest packet time seen. A double from the start: a field that starts undefined boxes every time stored in it. */
  lastTime = -Infinity;
  private readonly keepSteps: boolean;
  /** Per event, the handlers of the listeners that implement it: an event nobody listens to costs nothing per PDU. */
  private readonly on: { [E in keyof ModelListener]-?: NonNullable<ModelListener[E]>[] } = {
    pdu: [], commandSubmitted: [], cidReused: [], commandData: [], commandCompleted: [], lateCompletion: [], commandUnanswered: [],
    retry: [], violation: [], tcpFlag: [], diagnostic: [], queueEnded: [], associationEnded: [], captureEnded: [],
  };

  /** Time → frame, when asked for. */
  readonly frames: FrameIndex | undefined;

  constructor(private readonly options: ModelOptions) {
    this.live = new AssociationRegistry(options);
    this.keepSteps = options.onCommand !== undefined && options.commandSteps !== false;
    this.frames = options.frameIndex ? new FrameIndex() : undefined;
    this.listing = new ReportListing(options.allAssociations === true, summarize, (a) => this.forgetTeardowns(a));
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
      snapCut: undefined, adminConnect: undefined, awaitingCmd: NO_CMDS, awaitingEnd: NO_ENDS, awaitingHead: 0, awaitingLength: 0, ended: false, peerSince: undefined, peerUntil: undefined,
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
      controllerContact(a, q.lastCtrl);
      // After the host closed the queue its packets reach no one: PDUs among them are counted in pdu().
      if (!q.hostClosed || time < q.hostClosed.time) contactSeen(a, frame, time);
    }
    if (q.awaitingHead < q.awaitingLength && q.awaitingEnd[q.awaitingHead] <= peerAcked) arrivedUpTo(q, peerAcked, frame, time);
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
    if (kind !== 'syn') closedBy(q, fromHost, kind, frame, time);
    for (const h of this.on.tcpFlag) h(q, event);
  }

  diagnostic(d: StreamDiagnostic, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q && !this.retired.has(nvme)) return;
    this.listing.streamProblems.add(() => ({ conn: d.conn, dir: d.dir, kind: d.kind, frame: d.frame, streamOffset: d.streamOffset, length: d.length, message: d.message }));
    if (!q) return;
    bytesMissing(q, d);
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
    switch (p.typeName) {
      case 'CapsuleCmd':
        if (p.sqe) this.onCommand(q, p, p.sqe);
        break;
      case 'CapsuleResp':
        if (p.cqe) this.onResponse(q, p, p.cqe);
        break;
      case 'H2CData':
      case 'C2HData':
        if (p.cid !== undefined && p.data) this.onData(q, p, p.cid, p.data.datao, p.data.datal);
        break;
      case 'R2T':
        if (p.cid !== undefined && p.r2t) this.onData(q, p, p.cid, p.r2t.r2to, p.r2t.r2tl);
        break;
      case 'H2CTermReq':
      case 'C2HTermReq':
        if (q.assoc && !q.assoc.termReq) q.assoc.termReq = { frame: p.frame, time: p.time };
    }
    for (const h of this.on.pdu) h(q, p);
  }

  // ---- another capture of the same traffic (MergeSink; src/correlate/peer-view.ts) ----

  sighting(p: PduEvent, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (q) peerSighting(q, p);
  }

  lostOnTheWay(p: PduEvent, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (q) peerLost(q, p);
  }

  watched(nvme: NvmeConnection, time: number, watching: boolean): void {
    const q = this.queues.get(nvme.id);
    if (q) peerWatch(q, time, watching);
  }

  // ---- commands ----

  private onCommand(queue: Queue, p: CapsuleCmdPdu, sqe: Sqe): void {
    if (sqe.connect) {
      queue.qid = sqe.connect.qid;
      queue.qidSource = 'connect';
      queue.sqsize = sqe.connect.sqsize;
    }
    const q = sqe.connect ? this.live.attachByConnect(queue, p, sqe.connect) : isAttached(queue) ? queue : this.live.attachInferred(queue);
    if (q.qid === undefined) learnAdminQueue(q, sqe);
    const a = q.assoc;
    const admin = q.qid === 0;
    const previous = q.open.get(sqe.cid);
    if (previous) {
      // With bytes lost meanwhile its completion may be among them: reuse then proves nothing.
      if (!previous.gapWhileOpen) for (const h of this.on.cidReused) h(previous, p);
      this.commandEnded(previous, 'undecidable');
    }
    const cmd: Cmd = {
      q, cid: sqe.cid, opcode: sqe.opcode, fctype: sqe.fctype, admin, nsid: sqe.nsid, slba: sqe.slba, nlb: sqe.nlb,
      dataLength: sqe.dataLength, submit: { frame: p.frame, time: p.time }, key: undefined, sameKey: undefined, done: undefined,
      dataChanging: isDataChanging(sqe.opcode, admin), property: sqe.property,
      resets: admin && sqe.opcode === ADMIN_CROSS_CONTROLLER_RESET ? resetTarget(sqe) : undefined, steps: undefined,
      late: undefined, retriedBy: undefined, retryOf: undefined, gapWhileOpen: false, outcome: undefined,
      capsuleEnd: -1, capsuleAckFrame: -1, capsuleAckTime: 0, dataEnd: -1, dataAckFrame: -1, dataAckTime: 0, peer: undefined,
    };
    if (this.keepSteps) {
      const what = [sqe.slba !== undefined ? `slba ${sqe.slba} nlb ${sqe.nlb}` : '', p.inCapsuleLength ? `in-capsule ${p.inCapsuleLength}` : '']
        .filter(Boolean).join(' ');
      cmd.steps = [{ kind: 'submit', frame: p.frame, time: p.time, detail: `${this.opName(cmd)}${what ? ' ' + what : ''}` }];
    }
    q.open.set(sqe.cid, cmd);
    if (this.options.onSubmit) this.options.onSubmit(commandStart(cmd, this.opName(cmd)));
    if (q.orphans.size > 0) q.orphans.delete(sqe.cid);
    q.commands++;
    this.commandCount++;
    cmd.capsuleEnd = p.streamOffset + p.plen;
    if (sqe.connect && sqe.connect.qid === 0) q.adminConnect = cmd;
    if (admin && sqe.opcode === ADMIN_KEEP_ALIVE) keepAliveSent(a, cmd);
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
      this.retries.add(cmd);
    }
  }

  private onResponse(q: Queue, p: CapsuleRespPdu, cqe: Cqe): void {
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

  /** R2T, H2CData, C2HData for CID `cid`: `offset`, `length` the data they cover. */
  private onData(q: Queue, p: DataPdu | R2TPdu, cid: number, offset: number, length: number): void {
    const cmd = q.open.get(cid) ?? q.orphans.get(cid);
    if (!cmd) {
      if (this.seenWhole(q)) this.violation(q, p, `${p.typeName} for CID ${hex(cid)}, which has no command in flight`);
      return;
    }
    if (cmd.dataLength > 0 && offset + length > cmd.dataLength && !p.incomplete) {
      this.violation(q, p, `${p.typeName} covers bytes ${offset}–${offset + length} of a ${cmd.dataLength}-byte command`);
    }
    if (cmd.steps) {
      const kind = p.type === PduType.R2T ? 'r2t' : p.type === PduType.H2CData ? 'h2c-data' : 'c2h-data';
      const last = p.typeName !== 'R2T' && p.data?.last;
      cmd.steps.push({ kind, frame: p.frame, time: p.time, detail: `offset ${offset} length ${length}${last ? ' last' : ''}${p.incomplete ? ' (bytes missing)' : ''}` });
    }
    if (p.type === PduType.H2CData) {
      cmd.dataEnd = p.streamOffset + p.plen;
      cmd.dataAckFrame = -1;
      if (cmd.key !== undefined) awaitAck(q, cmd, cmd.dataEnd);
    }
    for (const h of this.on.commandData) h(cmd, p);
    if (p.typeName === 'R2T') return;
    if (p.typeName === 'C2HData' && p.data?.success) {
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
      this.commandEnded(cmd, 'unanswered-at-close');
      orphan(q, cmd);
      this.retries.retain(cmd);
      return;
    }
    const a = q.assoc;
    const ok = done.sct === 0 && done.sc === 0;
    if (cmd.steps) {
      cmd.steps.push({ kind: 'completion', frame: p.frame, time: p.time, detail: ok ? 'success' : `status ${statusName(done.sct, done.sc)}${done.dnr ? ' DNR' : ''}` });
    }
    cmd.done = done;
    if (cmd.key !== undefined) this.retries.drop(cmd);
    if (cmd === q.adminConnect && ok) {
      a.cntlid = dw0 & 0xffff;
      q.adminConnect = undefined;
    }
    if (ok && cmd.opcode === FABRICS_OPCODE && cmd.fctype === FCTYPE_CONNECT) {
      if (q.qid === 0) a.connected = { frame: p.frame, time: p.time };
      else a.ioConnected = { frame: p.frame, time: p.time };
    }
    if (cmd.admin && cmd.opcode === ADMIN_KEEP_ALIVE) keepAliveAnswered(a, cmd, p.time);
    if (a.tbkas) a.kaClock = { frame: p.frame, time: p.time };
    if (ok && cmd.opcode === FABRICS_OPCODE && cmd.fctype === FCTYPE_PROPERTY_SET && cmd.property?.offset === PROPERTY_CC) ccWritten(a, cmd.property.value ?? 0, p);
    if (cmd.resets) crossControllerReset(cmd, done, dw0, this.live.byId.values(), this.retries.candidates());
    for (const h of this.on.commandCompleted) h(cmd, p);
    this.commandEnded(cmd, ok ? 'completed' : 'error');
  }

  private lateCompletion(cmd: Cmd, p: PduEvent): void {
    cmd.late = { frame: p.frame, time: p.time };
    cmd.steps?.push({ kind: 'late-completion', frame: p.frame, time: p.time, detail: 'completion after the host closed the queue' });
    for (const h of this.on.lateCompletion) h(cmd, p);
  }

  // ---- retries ----

  private matchRetry(retry: Cmd, p: PduEvent): void {
    const original = this.retries.originalOf(retry);
    if (!original) return;
    original.retriedBy = retry;
    retry.retryOf = original;
    this.retries.drop(original);
    for (const h of this.on.retry) h(original, retry, p);
  }

  /** Live associations of a path, oldest first. */
  liveOnPath(path: string): readonly Assoc[] {
    return this.live.onPath(path);
  }

  private roleFix(q: Queue): void {
    // Roles can be learnt after the connection was announced (mid-stream start).
    const hostSide = q.nvme.hostSide ?? 0;
    const h = q.nvme.tcp.endpoints[hostSide];
    const c = q.nvme.tcp.endpoints[hostSide ^ 1];
    q.host = endpoint(h.address, h.port);
    q.controller = endpoint(c.address, c.port);
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
      this.commandEnded(cmd, outcome);
      this.retries.retain(cmd);
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
      this.listing.unassociated.add(() => queueSummary(q));
      return;
    }
    if (!a.queues.every((o) => o.ended)) return;
    if (!a.hostTeardown && this.lastTime > -Infinity) {
      // Still open at the end of the capture: the silence runs to the last packet seen.
      checkSilence(a, { frame: maxOf(a.queues.map((o) => o.lastFrame)), time: this.lastTime });
    }
    this.endAssociation(a);
  }

  /** Every queue of `a` has ended: tell the rules, then fold it into its path. */
  private endAssociation(a: Assoc): void {
    a.ended = true;
    this.live.ended(a);
    for (const h of this.on.associationEnded) h(a);
    this.listing.ended(a);
  }

  /** An association only counted lists no teardown: late flags on its connections have nowhere to go. */
  private forgetTeardowns(a: Assoc): void {
    for (const q of a.queues) this.retired.delete(q.nvme);
  }

  /** A finding names association `id`: count it (once per association) for its path. */
  noteFinding(id: number | null): void {
    if (id === null) return;
    const live = this.live.byId.get(id);
    if (live) {
      live.findings++;
      return;
    }
    this.listing.noteFinding(id);
  }

  /** Ends every queue still open and tells the rules the capture is over. */
  end(): void {
    for (const q of [...this.queues.values()]) this.endQueue(q);
    for (const h of this.on.captureEnded) h();
  }

  /** Every association in a report's order: the listed ones, each path's first and latest among them. */
  associations(): AssociationSummary[] {
    return this.listing.summaries();
  }

  /** Per path: every association's aggregates. */
  get paths(): ReadonlyMap<string, PathStats> {
    return this.listing.paths;
  }

  /** Unanswered commands let go after RETAIN_OUTSTANDING_S without a retry. */
  get evictedOutstanding(): number {
    return this.retries.evicted;
  }

  /** A command's fate is settled: counted, streamed to onCommand, its steps let go. */
  private commandEnded(cmd: Cmd, outcome: Outcome): void {
    if (cmd.outcome) return;
    cmd.outcome = outcome;
    this.opcodes.add(cmd, outcome);
    const sink = this.options.onCommand;
    if (!sink) return;
    sink(commandRecord(cmd, outcome, this.opName(cmd)));
    cmd.steps = undefined;
  }

  /** A controller tearing down its admin queue completes the AER it held: routine, not a command the host waited for. */
  private isAerCompletion(q: Queue, p: PduEvent): boolean {
    const cqe = p.typeName === 'CapsuleResp' ? p.cqe : undefined;
    const cmd = cqe ? q.open.get(cqe.cid) ?? q.orphans.get(cqe.cid) : undefined;
    return cmd !== undefined && cmd.admin && cmd.opcode === ADMIN_AER;
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
    this.retries.clock(time);
  }

  // ---- summaries ----

  opcodeRows(): OpcodeStats[] {
    return this.opcodes.rows();
  }


}
