import type { FlagKind } from '../reassembly/types.js';
import {
  ADMIN_KEEP_ALIVE, FABRICS_OPCODE, FCTYPE_PROPERTY_GET, FCTYPE_PROPERTY_SET, isDataChanging, opcodeName, PROPERTY_CC, statusName,
} from '../nvme-tcp/opcodes.js';
import { PduType, type NvmeConnection, type PduEvent, type PduSink, type StreamDiagnostic } from '../nvme-tcp/types.js';
import { LatencyHistogram } from './histogram.js';
import {
  SEVERITY_RANK, type AssociationSummary, type CommandRecord, type Finding, type OpcodeStats, type Outcome, type QueueSummary,
  type RetryRule, type RuleId, type Severity, type StreamProblem, type TcpEvent, type TimelineStep,
} from './types.js';

/** Linux's default keep-alive timeout, used when the capture holds no Connect and --kato is not given. */
export const LINUX_DEFAULT_KATO_MS = 5000;
/** Opcode of the Asynchronous Event Request: outstanding by design, never "unanswered". */
const ADMIN_AER = 0x0c;
/** Findings of one noisy rule per association before the rest are only counted. */
const FINDING_CAP = 50;
const STREAM_PROBLEM_CAP = 200;

export interface CorrelateOptions {
  katoMs?: number;
  cqtMs?: number;
  rule: RetryRule;
  /** Receives every command when it ends; steps are recorded only when set. */
  onCommand?: (command: CommandRecord) => void;
}

interface Stamp {
  frame: number;
  time: number;
}

interface Cmd {
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
  /** Completion, once seen. */
  done: (Stamp & { sct: number; sc: number; crd: number; more: boolean; dnr: boolean }) | undefined;
  dataChanging: boolean;
  property: { offset: number; value?: number } | undefined;
  steps: TimelineStep[] | undefined;
  /** Completion that arrived after the host had closed the queue: the controller ran it, the host never knew. */
  late: Stamp | undefined;
  retriedBy: Cmd | undefined;
  retryOf: Cmd | undefined;
  staleReported: boolean;
  gapWhileOpen: boolean;
  outcome: Outcome | undefined;
}

interface Queue {
  nvme: NvmeConnection;
  assoc: Assoc | undefined;
  qid: number | undefined;
  qidSource: QueueSummary['qidSource'];
  sqsize: number | undefined;
  host: string;
  controller: string;
  open: Map<number, Cmd>;
  /** Unanswered commands after close, by CID, for late completions. */
  orphans: Map<number, Cmd>;
  hostClosed: Stamp | undefined;
  ctrlClosed: (Stamp & { kind: FlagKind }) | undefined;
  teardown: TcpEvent[];
  commands: number;
  firstFrame: number;
  lastFrame: number;
  lastCtrl: Stamp | undefined;
  lastHost: Stamp | undefined;
  gaps: number;
  bytesLost: number;
  /** Bytes cut by the snapshot length: reported once per queue, not per packet. */
  snapCut: { bytes: number; segments: number; first: Stamp } | undefined;
  /** A Connect on this queue whose response will carry the controller id. */
  adminConnect: Cmd | undefined;
  ended: boolean;
}

interface Assoc {
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
  inferred: boolean;
  queues: Queue[];
  first: Stamp;
  lastCtrl: Stamp | undefined;
  lastHost: Stamp | undefined;
  /** Controller state from acknowledged CC writes: a fence is a disable or shutdown of a live controller. */
  enabled: 'yes' | 'no' | 'unknown';
  fences: (Stamp & { kind: string })[];
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
}

export interface CorrelationResult {
  associations: AssociationSummary[];
  unassociated: QueueSummary[];
  opcodes: OpcodeStats[];
  findings: Finding[];
  streamProblems: StreamProblem[];
  streamProblemsDropped: number;
  commands: number;
}

/**
 * Turns PDUs into command timelines, associations and findings. Keeps only
 * open commands, unanswered ones (they can be retried) and per-association
 * aggregates: finished commands are streamed to `onCommand` and forgotten.
 */
export class Correlator implements PduSink {
  private readonly queues = new Map<number, Queue>();
  private readonly allQueues: Queue[] = [];
  private readonly assocs: Assoc[] = [];
  /** Unanswered I/O commands by SLBA (head of a chain through `sameKey`): the candidates a retry is matched against. */
  private readonly outstanding = new Map<number, Cmd>();
  private readonly findings: Finding[] = [];
  private readonly suppressed = new Map<string, { count: number; rule: RuleId; severity: Severity; assoc: number | null }>();
  /** Findings listed so far per noisy rule and association. */
  private readonly listed = new Map<string, number>();
  /** Per-opcode aggregates by queue kind and name; `opcodeStatsCache` finds them by a numeric key without building names. */
  private readonly opcodeStats = new Map<string, { stats: OpcodeStats; hist: LatencyHistogram }>();
  private readonly opcodeStatsCache = new Map<number, { stats: OpcodeStats; hist: LatencyHistogram }>();
  private readonly streamProblems: StreamProblem[] = [];
  private streamProblemsDropped = 0;
  private commandCount = 0;
  /** Latest packet time seen. A double from the start: a field that starts undefined boxes every time stored in it. */
  private lastTime = -Infinity;
  private readonly keepSteps: boolean;

  constructor(private readonly options: CorrelateOptions) {
    this.keepSteps = options.onCommand !== undefined;
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
      open: new Map(), orphans: new Map(), hostClosed: undefined, ctrlClosed: undefined, teardown: [], commands: 0,
      firstFrame: tcp.firstFrame, lastFrame: tcp.firstFrame, lastCtrl: undefined, lastHost: undefined, gaps: 0, bytesLost: 0,
      snapCut: undefined, adminConnect: undefined, ended: false,
    };
    this.queues.set(nvme.id, q);
    this.allQueues.push(q);
    this.clock(tcp.firstTime);
  }

  packet(nvme: NvmeConnection, fromHost: boolean, frame: number, time: number): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.clock(time);
    q.lastFrame = frame;
    // Called for every segment: update stamps in place instead of allocating.
    if (fromHost) {
      q.lastHost = setStamp(q.lastHost, frame, time);
      if (q.assoc) q.assoc.lastHost = setStamp(q.assoc.lastHost, frame, time);
      return;
    }
    q.lastCtrl = setStamp(q.lastCtrl, frame, time);
    const a = q.assoc;
    if (a) this.controllerContact(a, q.lastCtrl);
  }

  tcpFlag(nvme: NvmeConnection, fromHost: boolean, kind: FlagKind, frame: number, time: number): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.roleFix(q);
    const event: TcpEvent = { conn: nvme.id, from: fromHost ? 'host' : 'controller', kind, frame, time, inFlight: q.open.size };
    q.teardown.push(event);
    if (kind === 'syn') return;
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
    if (kind === 'rst' && q.open.size > 0) {
      // Commands whose completion may sit in lost bytes are not known to be in flight.
      const open = [...q.open.values()].filter((c) => (c.opcode !== ADMIN_AER || !c.admin) && !c.gapWhileOpen);
      if (open.length > 0) {
        this.add({
          ruleId: 'connection-reset', severity: 'warning',
          message: `${fromHost ? 'host' : 'controller'} reset connection ${nvme.id} with ${open.length} command(s) in flight`,
          frames: [frame, ...open.map((c) => c.submit.frame)], time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null,
          details: { from: fromHost ? 'host' : 'controller', inFlight: open.map((c) => ({ cid: c.cid, opcode: this.opName(c), frame: c.submit.frame })) },
        });
      }
    }
  }

  diagnostic(d: StreamDiagnostic, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    if (this.streamProblems.length < STREAM_PROBLEM_CAP) {
      this.streamProblems.push({ conn: d.conn, dir: d.dir, kind: d.kind, frame: d.frame, streamOffset: d.streamOffset, length: d.length, message: d.message });
    } else this.streamProblemsDropped++;
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
    } else if (d.kind === 'gap') {
      this.add({
        ruleId: 'capture-gap', severity: 'warning',
        message: `${d.length} bytes ${d.dir === 'h2c' ? 'host→controller' : 'controller→host'} on connection ${d.conn} were not captured (stream offset ${d.streamOffset}); verdicts on its commands are uncertain`,
        frames: [d.frame], time: d.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null,
        details: { conn: d.conn, dir: d.dir, streamOffset: d.streamOffset, bytes: d.length },
      });
    } else if (d.kind === 'tls') {
      this.add({
        ruleId: 'unknown-pdu', severity: 'warning', message: `connection ${d.conn}: ${d.message}`,
        frames: [d.frame], time: d.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null,
        details: { conn: d.conn, dir: d.dir, kind: 'tls' },
      });
    } else if (d.kind === 'garbage' || d.kind === 'resync') {
      this.add({
        ruleId: 'unknown-pdu', severity: 'warning',
        message: `connection ${d.conn} ${d.dir}: ${d.message} (stream offset ${d.streamOffset})`,
        frames: [d.frame], time: d.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null,
        details: { conn: d.conn, dir: d.dir, streamOffset: d.streamOffset, bytes: d.length, kind: d.kind },
      });
    }
  }

  closed(nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.endQueue(q);
  }

  pdu(p: PduEvent, nvme: NvmeConnection): void {
    const q = this.queues.get(nvme.id);
    if (!q) return;
    this.clock(p.time);
    if (p.type === PduType.CapsuleCmd && p.sqe) this.onCommand(q, p);
    else if (p.type === PduType.CapsuleResp && p.cqe) this.onResponse(q, p);
    else if ((p.data || p.r2t) && p.cid !== undefined) this.onData(q, p);
    else if (p.type === PduType.H2CTermReq || p.type === PduType.C2HTermReq) this.onTermReq(q, p);
    else if (p.typeName === 'unknown') {
      this.add({
        ruleId: 'unknown-pdu', severity: 'warning', message: `unknown PDU type 0x${p.type.toString(16)} (${p.plen} bytes) on connection ${p.conn}`,
        frames: [p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null,
        details: { type: p.type, plen: p.plen, hlen: p.hlen, dir: p.dir },
      });
    }
    if (p.hdgstOk === false || p.ddgstOk === false) {
      this.add({
        ruleId: 'digest-mismatch', severity: 'error',
        message: `${p.hdgstOk === false ? 'header' : 'data'} digest of ${p.typeName} does not match its bytes`,
        frames: [p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: p.cid ?? null,
        details: { type: p.typeName, header: p.hdgstOk ?? null, data: p.ddgstOk ?? null },
      });
    }
    if (p.violation && !p.incomplete) this.violation(q, p, p.violation);
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
    if (previous && previous.gapWhileOpen) {
      // Its completion may be among the lost bytes: reuse proves nothing.
      this.finish(previous, 'undecidable');
    } else if (previous) {
      this.add({
        ruleId: 'cid-reuse-in-flight', severity: 'error',
        message: `CID ${hexCid(sqe.cid)} reused on queue ${q.qid ?? '?'} while ${this.opName(previous)} (frame ${previous.submit.frame}) had no completion`,
        frames: [previous.submit.frame, p.frame], time: p.time, assoc: a.id, qid: q.qid ?? null, cid: sqe.cid,
        details: { previousFrame: previous.submit.frame, previousOpcode: this.opName(previous) },
      });
      this.finish(previous, 'undecidable');
    }
    const cmd: Cmd = {
      q, cid: sqe.cid, opcode: sqe.opcode, fctype: sqe.fctype, admin, nsid: sqe.nsid, slba: sqe.slba, nlb: sqe.nlb,
      dataLength: sqe.dataLength, submit: { frame: p.frame, time: p.time }, key: undefined, sameKey: undefined, done: undefined,
      dataChanging: isDataChanging(sqe.opcode, admin), property: sqe.property, steps: undefined,
      late: undefined, retriedBy: undefined, retryOf: undefined, staleReported: false, gapWhileOpen: false, outcome: undefined,
    };
    if (this.keepSteps) {
      const what = [sqe.slba !== undefined ? `slba ${sqe.slba} nlb ${sqe.nlb}` : '', p.inCapsuleLength ? `in-capsule ${p.inCapsuleLength}` : '']
        .filter(Boolean).join(' ');
      cmd.steps = [{ kind: 'submit', frame: p.frame, time: p.time, detail: `${this.opName(cmd)}${what ? ' ' + what : ''}` }];
    }
    q.open.set(sqe.cid, cmd);
    q.orphans.delete(sqe.cid);
    q.commands++;
    this.commandCount++;
    if (sqe.connect && sqe.connect.qid === 0) q.adminConnect = cmd;
    if (admin && sqe.opcode === ADMIN_KEEP_ALIVE) this.keepAliveSent(a, cmd);
    // A queue without a captured Connect counts as an I/O queue until a Keep Alive shows it is the admin queue.
    // A command whose header was cut before CDW12 has no full identity: it is never matched as a retry.
    if (!admin && sqe.opcode !== FABRICS_OPCODE && (p.headerCaptured === undefined || p.headerCaptured >= 60)) {
      // The rest of the identity (nsid, opcode, NLB, subsystem, host) is compared in matchRetry.
      cmd.key = sqe.slba ?? -1;
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
      if (this.seenWhole(q)) this.violation(q, p, `response for CID ${hexCid(cqe.cid)}, which has no command in flight`);
      return;
    }
    this.complete(cmd, p, cqe.sct, cqe.sc, cqe.crd, cqe.more, cqe.dnr, cqe.dw0);
  }

  private onData(q: Queue, p: PduEvent): void {
    const cid = p.cid!;
    const cmd = q.open.get(cid) ?? q.orphans.get(cid);
    if (!cmd) {
      if (this.seenWhole(q)) this.violation(q, p, `${p.typeName} for CID ${hexCid(cid)}, which has no command in flight`);
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
    if (p.type === PduType.H2CData && cmd.retriedBy && !cmd.staleReported && p.time >= cmd.retriedBy.submit.time) {
      cmd.staleReported = true;
      const r = cmd.retriedBy;
      this.add({
        ruleId: 'stale-data-after-retry', severity: 'error',
        message: `write data for ${this.opName(cmd)} (frame ${cmd.submit.frame}) left on the old connection after its retry (frame ${r.submit.frame}) was submitted on association ${r.q.assoc!.id}`,
        frames: [cmd.submit.frame, r.submit.frame, p.frame], time: p.time, assoc: cmd.q.assoc!.id, qid: cmd.q.qid ?? null, cid,
        details: { originalFrame: cmd.submit.frame, retryFrame: r.submit.frame, dataFrame: p.frame, datao: offset, datal: length },
      });
    }
    if (p.type === PduType.C2HData && p.data?.success) {
      if (q.open.get(cid) === cmd) this.complete(cmd, p, 0, 0, 0, false, false, 0);
      else if (!cmd.late) this.lateCompletion(cmd, p);
    }
    if (p.identify && cmd.q.assoc) {
      const a = cmd.q.assoc;
      a.tbkas = p.identify.tbkas;
      if (p.identify.cqtMs > 0) {
        a.cqtMs = p.identify.cqtMs;
        a.cqtSource = 'identify';
      }
    }
  }

  private onTermReq(q: Queue, p: PduEvent): void {
    const a = q.assoc;
    if (a && !a.termReq) a.termReq = { frame: p.frame, time: p.time };
    const fes = p.term?.fes ?? 0;
    this.add({
      ruleId: 'term-req', severity: 'error',
      message: `${p.typeName} on connection ${p.conn}: fatal error status ${hexCid(fes)} (${FES_NAMES[fes] ?? 'unknown'})`,
      frames: [p.frame], time: p.time, assoc: a?.id ?? null, qid: q.qid ?? null, cid: null,
      details: { type: p.typeName, fes, fesName: FES_NAMES[fes] ?? null, fei: p.term?.fei ?? null },
    });
  }

  private complete(cmd: Cmd, p: PduEvent, sct: number, sc: number, crd: number, more: boolean, dnr: boolean, dw0: number): void {
    const q = cmd.q;
    if (q.hostClosed && p.time >= q.hostClosed.time) {
      // The host had closed the queue: it never saw this completion.
      q.open.delete(cmd.cid);
      this.lateCompletion(cmd, p);
      this.finish(cmd, 'unanswered-at-close');
      q.orphans.set(cmd.cid, cmd);
      return;
    }
    q.open.delete(cmd.cid);
    const a = q.assoc!;
    const ok = sct === 0 && sc === 0;
    if (cmd.steps) {
      cmd.steps.push({ kind: 'completion', frame: p.frame, time: p.time, detail: ok ? 'success' : `status ${statusName(sct, sc)}${dnr ? ' DNR' : ''}` });
    }
    cmd.done = { frame: p.frame, time: p.time, sct, sc, crd, more, dnr };
    if (cmd.key !== undefined) this.dropOutstanding(cmd);
    if (cmd === q.adminConnect && ok) {
      a.cntlid = dw0 & 0xffff;
      q.adminConnect = undefined;
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
    if (!ok) {
      this.add({
        ruleId: 'error-status', severity: 'warning',
        message: `${this.opName(cmd)} (frame ${cmd.submit.frame}) completed with ${statusName(sct, sc)}${dnr ? ', do not retry' : ''}`,
        frames: [cmd.submit.frame, p.frame], time: p.time, assoc: a.id, qid: q.qid ?? null, cid: cmd.cid,
        details: { opcode: this.opName(cmd), sct, sc, status: statusName(sct, sc), crd, more, dnr },
      });
    }
    this.finish(cmd, ok ? 'completed' : 'error');
  }

  private lateCompletion(cmd: Cmd, p: PduEvent): void {
    cmd.late = { frame: p.frame, time: p.time };
    cmd.steps?.push({ kind: 'late-completion', frame: p.frame, time: p.time, detail: 'completion after the host closed the queue' });
    if (cmd.retriedBy) this.duplicateExecution(cmd, cmd.retriedBy);
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
    const oa = original.q.assoc!;
    const contact = oa.lastCtrl;
    const requiredMs = this.requiredWaitMs(oa);
    const gapMs = contact ? (retry.submit.time - contact.time) * 1000 : null;
    const fence = this.fenceFor(original, retry.submit.time);
    const uncertain = original.gapWhileOpen || original.q.gaps > 0;
    const early = gapMs === null || gapMs < requiredMs;
    const ruleId: RuleId = fence ? 'retry-after-fence' : early ? 'retry-before-kato' : 'retry-after-kato';
    const severity: Severity = ruleId === 'retry-before-kato' ? (original.dataChanging ? 'error' : 'warning') : 'info';
    const name = this.opName(original);
    const range = original.slba !== undefined ? ` SLBA ${original.slba} NLB ${original.nlb}` : '';
    const gapText = gapMs === null ? 'with no controller contact captured' : `${(gapMs / 1000).toFixed(3)} s after the last controller contact`;
    // Without the old Connect, KATO is an assumption: say so, and what the reconnect's Connect declared.
    const assumed = oa.katoSource === 'connect' ? '' : oa.katoSource === '--kato' ? `, KATO ${oa.katoMs} ms from --kato` : `, KATO ${oa.katoMs} ms assumed: the Linux default, give --kato`;
    const hint = oa.katoSource !== 'connect' && a.katoSource === 'connect' && a.katoMs !== oa.katoMs
      ? `; the new association's Connect declares KATO ${a.katoMs} ms` : '';
    const message = ruleId === 'retry-after-fence'
      ? `${name}${range} (frame ${original.submit.frame}) resubmitted in frame ${p.frame} on association ${a.id} after the old association was fenced (${fence!.kind}, frame ${fence!.frame})`
      : `${name}${range} (frame ${original.submit.frame}) resubmitted in frame ${p.frame} on association ${a.id} ${gapText}; ${early ? 'before' : 'after'} the required ${(requiredMs / 1000).toFixed(3)} s (${this.options.rule}${assumed})${hint}`;
    const frames = [original.submit.frame, p.frame];
    if (contact) frames.push(contact.frame);
    if (fence) frames.push(fence.frame);
    this.add({
      ruleId, severity, message: message + (uncertain ? ' [uncertain: bytes missing from the capture]' : ''),
      frames, time: p.time, assoc: a.id, qid: retry.q.qid ?? null, cid: retry.cid,
      details: {
        originalFrame: original.submit.frame, retryFrame: p.frame, originalAssoc: oa.id, retryAssoc: a.id,
        originalQid: original.q.qid ?? null, originalCid: original.cid, originalTime: original.submit.time, opcode: name, nsid: original.nsid,
        slba: original.slba ?? null, nlb: original.nlb ?? null, lastControllerContactFrame: contact?.frame ?? null,
        lastControllerContactTime: contact?.time ?? null,
        gapMs: gapMs === null ? null : round3(gapMs), requiredMs, rule: this.options.rule, katoMs: oa.katoMs, katoSource: oa.katoSource,
        cqtMs: oa.cqtMs, cqtSource: oa.cqtSource, tbkas: oa.tbkas, fencedBy: fence ?? null, trigger: this.trigger(original, retry),
        samePath: pathOf(oa) === pathOf(a), uncertain,
        retryAssocKatoMs: a.katoSource === 'connect' ? a.katoMs : null,
      },
    });
    if (original.late) this.duplicateExecution(original, retry);
  }

  private duplicateExecution(original: Cmd, retry: Cmd): void {
    const late = original.late!;
    const name = this.opName(original);
    this.add({
      ruleId: 'duplicate-execution', severity: original.dataChanging ? 'error' : 'info',
      message: `${name}${original.slba !== undefined ? ` SLBA ${original.slba} NLB ${original.nlb}` : ''} ran twice: the controller completed the original (frame ${late.frame}) after the host closed its queue, and the host resubmitted it (frame ${retry.submit.frame})`,
      frames: [original.submit.frame, late.frame, retry.submit.frame], time: Math.max(late.time, retry.submit.time),
      assoc: original.q.assoc!.id, qid: original.q.qid ?? null, cid: original.cid,
      details: {
        originalFrame: original.submit.frame, lateCompletionFrame: late.frame, retryFrame: retry.submit.frame,
        hostClosedFrame: original.q.hostClosed?.frame ?? null, opcode: name, slba: original.slba ?? null, nlb: original.nlb ?? null,
      },
    });
  }

  private requiredWaitMs(a: Assoc): number {
    switch (this.options.rule) {
      case 'kato':
        return a.katoMs;
      case 'tp4129':
        return (a.tbkas ? 3 : 2) * a.katoMs + a.cqtMs;
      default:
        return a.katoMs + a.cqtMs;
    }
  }

  /** What fenced the original's controller before `before`: CC disable/shutdown acknowledged, or the controller closing its connection. */
  private fenceFor(original: Cmd, before: number): (Stamp & { kind: string }) | undefined {
    const a = original.q.assoc!;
    const candidates: (Stamp & { kind: string })[] = [];
    const fence = a.fences.find((f) => f.time >= original.submit.time && f.time <= before);
    if (fence) candidates.push(fence);
    const cc = original.q.ctrlClosed;
    if (cc && cc.time <= before) candidates.push({ frame: cc.frame, time: cc.time, kind: cc.kind === 'rst' ? 'controller-rst' : 'controller-fin' });
    candidates.sort((x, y) => x.time - y.time);
    return candidates[0];
  }

  private trigger(original: Cmd, retry: Cmd): string {
    const a = original.q.assoc!;
    if (a.termReq && a.termReq.time <= retry.submit.time) return 'TermReq';
    const cc = original.q.ctrlClosed;
    if (cc && cc.time <= retry.submit.time) return `controller TCP ${cc.kind.toUpperCase()}`;
    const teardown = original.q.hostClosed?.time ?? retry.submit.time;
    const kaTimedOut = a.kaOpen.some((k) => teardown - k.submit.time >= a.katoMs / 1000 * 0.9);
    if (kaTimedOut) return 'keep-alive timeout';
    return 'I/O timeout';
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
    const match = this.latestAssoc((a) =>
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
    const match = this.latestAssoc((a) =>
      a.controller === q.controller && a.hostAddress === host && a.queues.some((o) => !o.hostClosed && !o.ended));
    this.join(match ?? this.newAssoc(q, q.firstFrame, q.nvme.tcp.firstTime, true), q);
  }

  /** The newest association that passes `test`: a queue nearly always joins the last one, so search from the end, without copying. */
  private latestAssoc(test: (a: Assoc) => boolean): Assoc | undefined {
    for (let i = this.assocs.length - 1; i >= 0; i--) if (test(this.assocs[i])) return this.assocs[i];
    return undefined;
  }

  private newAssoc(q: Queue, frame: number, time: number, inferred: boolean): Assoc {
    const a: Assoc = {
      id: this.assocs.length + 1, hostnqn: undefined, subnqn: undefined, hostAddress: hostAddressOf(q), controller: q.controller,
      cntlid: undefined,
      katoMs: this.options.katoMs ?? LINUX_DEFAULT_KATO_MS, katoSource: this.options.katoMs !== undefined ? '--kato' : 'assumed',
      cqtMs: this.options.cqtMs ?? 0, cqtSource: this.options.cqtMs !== undefined ? '--cqt' : 'none', tbkas: false, inferred,
      queues: [], first: { frame, time }, lastCtrl: undefined, lastHost: undefined, enabled: inferred ? 'unknown' : 'no', fences: [], termReq: undefined,
      silence: undefined, kaSent: 0, kaAnswered: 0, kaLast: undefined, kaClock: undefined, kaIntervals: new LatencyHistogram(),
      kaMaxInterval: undefined, kaMaxRtt: undefined, kaOpen: [], hostTeardown: undefined,
    };
    this.assocs.push(a);
    return a;
  }

  private join(a: Assoc, q: Queue): void {
    q.assoc = a;
    a.queues.push(q);
    if (q.lastCtrl) this.controllerContact(a, q.lastCtrl);
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
      if (!a.kaMaxInterval || ms > a.kaMaxInterval.ms) a.kaMaxInterval = { ms, from: previous, to: cmd.submit };
    }
    a.kaLast = cmd.submit;
  }

  private keepAliveAnswered(a: Assoc, cmd: Cmd, time: number): void {
    a.kaAnswered++;
    const i = a.kaOpen.indexOf(cmd);
    if (i >= 0) a.kaOpen.splice(i, 1);
    const rtt = (time - cmd.submit.time) * 1000;
    if (a.kaMaxRtt === undefined || rtt > a.kaMaxRtt) a.kaMaxRtt = rtt;
  }

  // ---- ending ----

  private endQueue(q: Queue): void {
    if (q.ended) return;
    q.ended = true;
    for (const cmd of [...q.open.values()]) {
      q.open.delete(cmd.cid);
      const outcome: Outcome = cmd.gapWhileOpen ? 'undecidable' : q.hostClosed || q.ctrlClosed ? 'unanswered-at-close' : 'unanswered-at-end';
      q.orphans.set(cmd.cid, cmd);
      this.finish(cmd, outcome);
      if (cmd.admin && cmd.opcode === ADMIN_AER) continue;
      const closing = q.hostClosed ?? q.ctrlClosed;
      const name = this.opName(cmd);
      this.add({
        ruleId: 'unanswered-command',
        severity: outcome === 'unanswered-at-close' ? 'warning' : 'info',
        message: `${name}${cmd.slba !== undefined ? ` SLBA ${cmd.slba} NLB ${cmd.nlb}` : ''} (frame ${cmd.submit.frame}) got no completion ${outcome === 'unanswered-at-end' ? 'before the capture ended' : outcome === 'undecidable' ? '(bytes missing from the capture: its completion may be among them)' : `before the connection closed (frame ${closing?.frame})`}`,
        frames: closing ? [cmd.submit.frame, closing.frame] : [cmd.submit.frame],
        time: cmd.submit.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: cmd.cid,
        details: { opcode: name, outcome, submitFrame: cmd.submit.frame, closeFrame: closing?.frame ?? null, retried: cmd.retriedBy !== undefined },
      });
    }
    const a = q.assoc;
    if (a && a.queues.every((o) => o.ended) && !a.hostTeardown && this.lastTime > -Infinity) {
      // Still open at the end of the capture: the silence runs to the last packet seen.
      this.checkSilence(a, { frame: Math.max(...a.queues.map((o) => o.lastFrame)), time: this.lastTime });
    }
  }

  /** Ends every queue still open and derives the association-level findings. */
  result(): CorrelationResult {
    for (const q of this.allQueues) this.endQueue(q);
    for (const a of this.assocs) this.associationFindings(a);
    for (const q of this.allQueues) {
      if (!q.snapCut) continue;
      const c = q.snapCut;
      this.add({
        ruleId: 'capture-gap', severity: 'warning',
        message: `connection ${q.nvme.id}: ${c.bytes} bytes in ${c.segments} segments were cut by the capture's snapshot length (first in frame ${c.first.frame}); commands whose PDUs were cut are undecidable`,
        frames: [c.first.frame], time: c.first.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null,
        details: { conn: q.nvme.id, cause: 'snaplen', bytes: c.bytes, segments: c.segments, firstFrame: c.first.frame },
      });
    }
    for (const [, s] of [...this.suppressed.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
      this.findings.push({
        ruleId: s.rule, severity: s.severity, message: `${s.count} more ${s.rule} findings on association ${s.assoc ?? '-'} not listed`,
        frames: [], time: Math.max(this.lastTime, 0), assoc: s.assoc, qid: null, cid: null, wiresharkFilter: 'nvme-tcp', details: { suppressed: s.count },
      });
    }
    const findings = this.findings.slice().sort(compareFindings);
    return {
      associations: this.assocs.map((a) => this.summarize(a)),
      unassociated: this.allQueues.filter((q) => !q.assoc).map((q) => this.queueSummary(q)),
      opcodes: [...this.opcodeStats.values()].map((o) => ({ ...o.stats, latencyMs: latency(o.hist) }))
        // Code-unit order, not localeCompare: the same in every locale, and no ICU collator to load at start-up.
        .sort((x, y) => (x.queue !== y.queue ? (x.queue === 'admin' ? -1 : 1) : x.opcode < y.opcode ? -1 : x.opcode > y.opcode ? 1 : 0)),
      findings,
      streamProblems: this.streamProblems,
      streamProblemsDropped: this.streamProblemsDropped,
      commands: this.commandCount,
    };
  }

  private associationFindings(a: Assoc): void {
    const admin = a.queues.find((q) => q.qid === 0);
    if (a.silence) {
      const ms = (a.silence.to.time - a.silence.from.time) * 1000;
      if (ms > a.katoMs) {
        this.add({
          ruleId: 'keep-alive-timeout', severity: 'warning',
          message: `association ${a.id}: no packet from the controller for ${(ms / 1000).toFixed(3)} s (frames ${a.silence.from.frame}–${a.silence.to.frame}) while the association was open; KATO is ${a.katoMs} ms (${a.katoSource})`,
          frames: [a.silence.from.frame, a.silence.to.frame], time: a.silence.to.time, assoc: a.id, qid: admin ? 0 : null, cid: null,
          details: { silentMs: round3(ms), katoMs: a.katoMs, katoSource: a.katoSource, lastControllerContactFrame: a.silence.from.frame, untilFrame: a.silence.to.frame, keepAlivesUnanswered: a.kaOpen.length },
        });
      }
    }
    if (a.kaMaxInterval) {
      // Linux sends a keep-alive every KATO/2; with TBKAS its check runs every KATO/4 but skips a
      // run after traffic, so up to two periods pass between contacts. Slack covers work-queue delay.
      const expected = a.katoMs / (a.tbkas ? 4 : 2);
      const allowed = (a.tbkas ? 2 * expected : 1.5 * expected) + 100;
      const ms = a.kaMaxInterval.ms;
      if (ms > a.katoMs || ms > allowed) {
        this.add({
          ruleId: 'keep-alive-late', severity: ms > a.katoMs ? 'warning' : 'info',
          message: `association ${a.id}: ${(ms / 1000).toFixed(3)} s between keep-alives (frames ${a.kaMaxInterval.from.frame} and ${a.kaMaxInterval.to.frame}); expected every ${(expected / 1000).toFixed(3)} s for KATO ${a.katoMs} ms${a.tbkas ? ' with traffic-based keep-alive' : ''}`,
          frames: [a.kaMaxInterval.from.frame, a.kaMaxInterval.to.frame], time: a.kaMaxInterval.to.time, assoc: a.id, qid: 0, cid: null,
          details: { intervalMs: round3(ms), expectedMs: expected, allowedMs: allowed, katoMs: a.katoMs, katoSource: a.katoSource, tbkas: a.tbkas },
        });
      }
    }
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
    const name = this.opName(cmd);
    const record: CommandRecord = {
      assoc: cmd.q.assoc?.id ?? 0, conn: cmd.q.nvme.id, qid: cmd.q.qid ?? null, cid: cmd.cid, opcode: cmd.opcode, opcodeName: name,
      admin: cmd.admin, nsid: cmd.nsid, submitFrame: cmd.submit.frame, submitTime: cmd.submit.time, outcome, steps: cmd.steps ?? [],
    };
    if (cmd.slba !== undefined) {
      record.slba = cmd.slba;
      record.nlb = cmd.nlb;
    }
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

  private seenWhole(q: Queue): boolean {
    return q.nvme.tcp.sawOpen && q.gaps === 0 && q.snapCut === undefined;
  }

  private violation(q: Queue, p: PduEvent, what: string): void {
    this.add({
      ruleId: 'protocol-violation', severity: 'error', message: `${p.typeName} on connection ${p.conn}: ${what}`,
      frames: [p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: p.cid ?? null,
      details: { type: p.typeName, violation: what },
    });
  }

  private add(f: Omit<Finding, 'wiresharkFilter'> & { wiresharkFilter?: string }): void {
    const noisy = f.ruleId === 'unanswered-command' || f.ruleId === 'error-status' || f.ruleId === 'capture-gap' ||
      f.ruleId === 'protocol-violation' || f.ruleId === 'unknown-pdu' || f.ruleId === 'cid-reuse-in-flight' || f.ruleId === 'digest-mismatch';
    if (noisy) {
      const key = `${f.ruleId}@${f.assoc ?? '-'}`;
      const count = this.listed.get(key) ?? 0;
      this.listed.set(key, count + 1);
      if (count >= FINDING_CAP) {
        const s = this.suppressed.get(key);
        if (s) {
          s.count++;
          if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[s.severity]) s.severity = f.severity;
        } else this.suppressed.set(key, { count: 1, rule: f.ruleId, severity: f.severity, assoc: f.assoc });
        return;
      }
    }
    const frames = [...new Set(f.frames)].sort((x, y) => x - y);
    this.findings.push({ ...f, frames, wiresharkFilter: f.wiresharkFilter ?? frameFilter(frames) });
  }

  private opName(cmd: Cmd): string {
    return opcodeName(cmd.opcode, cmd.q.qid === undefined ? undefined : cmd.admin, cmd.fctype);
  }

  private clock(time: number): void {
    if (time > this.lastTime) this.lastTime = time;
  }

  private summarize(a: Assoc): AssociationSummary {
    const intervals = a.kaIntervals;
    return {
      id: a.id, path: pathOf(a), hostnqn: a.hostnqn ?? null, subnqn: a.subnqn ?? null, host: a.hostAddress, controller: a.controller,
      cntlid: a.cntlid ?? null, katoMs: a.katoMs, katoSource: a.katoSource, cqtMs: a.cqtMs, cqtSource: a.cqtSource, tbkas: a.tbkas,
      inferred: a.inferred, firstFrame: a.first.frame, firstTime: a.first.time,
      lastControllerContact: a.lastCtrl ?? null, lastHostTransmission: a.lastHost ?? null, fencedBy: a.fences[0] ?? null,
      queues: a.queues.map((q) => this.queueSummary(q)).sort((x, y) => (x.qid ?? 99999) - (y.qid ?? 99999) || x.conn - y.conn),
      keepAlive: {
        sent: a.kaSent, answered: a.kaAnswered,
        maxIntervalMs: a.kaMaxInterval ? round3(a.kaMaxInterval.ms) : null,
        medianIntervalMs: intervals.count ? round3(intervals.quantile(0.5)!) : null,
        maxRttMs: a.kaMaxRtt === undefined ? null : round3(a.kaMaxRtt),
      },
    };
  }

  private queueSummary(q: Queue): QueueSummary {
    return {
      conn: q.nvme.id, qid: q.qid ?? null, qidSource: q.qidSource, sqsize: q.sqsize ?? null, host: q.host, controller: q.controller,
      firstFrame: q.firstFrame, lastFrame: q.lastFrame, teardown: q.teardown, commands: q.commands,
      inFlightAtEnd: [...q.orphans.values()].filter((c) => !(c.admin && c.opcode === ADMIN_AER)).length, gaps: q.gaps, bytesLost: q.bytesLost,
    };
  }
}

/** Fatal error status values of H2C/C2HTermReq. */
const FES_NAMES: Record<number, string> = {
  1: 'Invalid PDU Header Field', 2: 'PDU Sequence Error', 3: 'Header Digest Error', 4: 'Data Transfer Out of Range',
  5: 'Data Transfer Limit Exceeded', 6: 'Unsupported Parameter',
};

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

function pathOf(a: Assoc): string {
  return `${a.hostnqn ?? a.hostAddress} → ${a.subnqn ?? '?'} @ ${a.controller}`;
}

function hexCid(cid: number): string {
  return '0x' + cid.toString(16).padStart(4, '0');
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function latency(h: LatencyHistogram): OpcodeStats['latencyMs'] {
  const r = (v: number | null) => (v === null ? null : round3(v));
  return { p50: r(h.quantile(0.5)), p90: r(h.quantile(0.9)), p99: r(h.quantile(0.99)), max: h.count ? round3(h.max) : null };
}

/** A display filter that shows exactly the given frames. */
export function frameFilter(frames: number[]): string {
  if (frames.length === 0) return 'nvme-tcp';
  if (frames.length === 1) return `frame.number == ${frames[0]}`;
  return `frame.number in {${frames.join(' ')}}`;
}

function compareFindings(x: Finding, y: Finding): number {
  return x.time - y.time || (x.frames[0] ?? 0) - (y.frames[0] ?? 0) || (x.ruleId < y.ruleId ? -1 : x.ruleId > y.ruleId ? 1 : 0) ||
    (x.message < y.message ? -1 : x.message > y.message ? 1 : 0);
}
