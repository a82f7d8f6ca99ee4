import { CAPTURE_STRIDE, captureLabel } from '../common/frame-ref.js';
import { UsageError } from '../common/errors.js';
import type { Direction, NvmeConnection, PduEvent, StreamDiagnostic } from '../nvme-tcp/types.js';
import { ClockEstimator, ClockMapping } from './clock.js';
import { Probe } from './probe.js';
import { EventKind, type Lane, type LaneEvent } from './lane.js';
import { LaneScheduler } from './scheduler.js';
import type { CaptureVantage, MergeSink, Passage, SameTrafficReport, Vantage } from './types.js';
import { inHole, newDir, prune, type MergedConn, type Tentative, type Waiting } from './merge-state.js';
import { FIRST_LOST_KEPT, PassageLedger } from './passage.js';
import { offsetDelta, sameIncarnation, standIn, tupleKey } from './connection-views.js';

/** How long (seconds) a PDU seen at one point waits for the other point to show it. */
const MATCH_WINDOW_S = 0.25;
/** Merged ids of connections only a non-host capture saw: apart from the host capture's own numbers. */
const OWN_ID_BASE = 1_000_000;

export interface MergeOptions {
  /** Each PDU as it is matched or given up on: seen at both points, or at one only. */
  onPassage?: (p: Passage) => void;
  /** The probe has found which input is the host-side capture (its index among the inputs). */
  onHost?: (index: number) => void;
  /** Known offset (seconds, target − host): no alignment from the traffic. */
  offsetS?: number;
  /** Where each capture was taken, in input order (inferred when absent). */
  vantages?: Vantage[];
}

/**
 * Several captures of the same traffic → one event stream for the model. Each capture is
 * decoded on its own up to PDUs (its Lane); the merge takes their events in time order on the
 * host capture's clock. A connection belongs to the capture that saw it first (the host's,
 * normally); a PDU another capture shows at the same stream offset is one PDU seen twice
 * (a sighting: the model learns where and when it passed that point); one only the other
 * capture shows fills in what the owner's capture missed, or, when it never reached the
 * owner's side, is reported as lost on the way.
 */
export class Merger extends LaneScheduler {
  private readonly clock = new ClockEstimator();
  private readonly prober: Probe;
  private readonly byLaneConn = new Map<NvmeConnection, MergedConn>();
  private readonly live = new Map<string, MergedConn[]>();
  /** What passed between the points, folded in as each connection ends: memory per open connection, not per connection seen. */
  private readonly ledger = new PassageLedger();
  private readonly expiry: Waiting[] = [];
  private expiryHead = 0;
  /** Connections their owner closed, waiting for the other captures' last sightings. */
  private readonly closing: { m: MergedConn; deadline: number }[] = [];
  /** Connections another capture opened first, held for a window for the host capture's view. */
  private readonly tentative = new Map<NvmeConnection, Tentative>();
  /** The same, by 4-tuple (for the host capture's view to find), and in order of their deadlines (for the window to close on). */
  private readonly tentativeByKey = new Map<string, Tentative[]>();
  private readonly tentativeQueue: Tentative[] = [];
  private tentativeHead = 0;
  /** The longest any connection's list of PDUs waiting for their twin grew (what the merge holds: a window's worth). */
  peakWaiting = 0;
  private vantages: Vantage[];
  /** No PDU of one direction matched: the order given was taken as host, target. */
  private assumed = false;

  constructor(lanes: Lane[], private readonly out: MergeSink, private readonly options: MergeOptions = {}) {
    super(lanes);
    if (lanes.length !== 2) throw new UsageError('--same-traffic reads two captures of the same traffic (host side and target side)');
    this.prober = new Probe(lanes, options.vantages);
    this.vantages = options.vantages ?? ['host', 'target'];
  }

  /** A packet taken as it was decoded: to the model when its capture owns the connection, held with a tentative connection's events. */
  protected packetNow(lane: Lane, conn: NvmeConnection, fromHost: boolean, frame: number, time: number, acked: number, t: number): void {
    const held = this.tentative.get(conn);
    if (held) {
      held.events.push({ e: { kind: EventKind.Packet, conn, time, frame, fromHost, acked, flag: undefined, outOfWindow: false, pdu: undefined, diagnostic: undefined }, time: t });
      return;
    }
    const m = this.byLaneConn.get(conn);
    if (m && !m.settled && m.owner === lane) this.out.packet(m.conn, fromHost, frame + lane.code * CAPTURE_STRIDE, t, acked);
  }

  onlyPdus(lane: Lane, conn: NvmeConnection): boolean {
    if (this.probing) return false;
    const m = this.byLaneConn.get(conn);
    return m !== undefined && m.owner !== lane;
  }

  /** Until when a PDU taken now waits for its twin. */
  private deadline(): number {
    return this.now + MATCH_WINDOW_S;
  }

  // ---- the probe: which capture is where, and the clock offset ----

  /** Matches the PDUs read so far across captures; true once the merge can start. */
  protected probe(): boolean {
    const outcome = this.prober.scan(this.options.offsetS !== undefined);
    if (!outcome) return false;
    this.vantages = outcome.vantages;
    this.assumed = outcome.assumed;
    for (const lane of this.lanes) lane.code = lane.index === outcome.hostIndex ? 0 : 1;
    this.mapping = this.options.offsetS !== undefined ? ClockMapping.given(this.options.offsetS) : outcome.mapping;
    this.probing = false;
    this.options.onHost?.(outcome.hostIndex);
    return true;
  }

  // ---- the merge ----

  protected emit(lane: Lane, e: LaneEvent, time: number): void {
    if (e.kind === EventKind.Connection) return this.opened(lane, e.conn, time);
    const held = this.tentative.get(e.conn);
    if (held) {
      held.events.push({ e, time });
      return;
    }
    const m = this.byLaneConn.get(e.conn);
    if (!m || m.settled) return;
    const owner = m.owner === lane;
    const ref = lane.code * CAPTURE_STRIDE;
    switch (e.kind) {
      case EventKind.Packet:
        if (owner) this.out.packet(m.conn, e.fromHost, e.frame + ref, time, e.acked);
        return;
      case EventKind.Flag:
        if (owner) this.out.tcpFlag(m.conn, e.fromHost, e.flag!, e.frame + ref, time, e.outOfWindow);
        return;
      case EventKind.Diagnostic:
        if (owner) this.ownerDiagnostic(m, e.diagnostic!, ref, time);
        return;
      case EventKind.Pdu: {
        const pdu = e.pdu!;
        const rawTime = pdu.time;
        pdu.time = time;
        pdu.frame += ref;
        pdu.firstFrame += ref;
        if (owner) this.ownerPdu(m, lane, pdu, rawTime);
        else this.otherPdu(m, lane, e.conn, pdu, rawTime);
        return;
      }
      case EventKind.Closed:
        this.byLaneConn.delete(e.conn);
        if (owner) this.closedByOwner(m);
        else if (m.others.delete(lane) && !m.ownerClosed) {
          m.watchedUntil = time;
          this.out.watched(m.conn, time, false);
        }
        return;
    }
  }

  private opened(lane: Lane, conn: NvmeConnection, time: number): void {
    const key = tupleKey(conn);
    const m = this.joinable(lane, conn, key);
    if (m) return this.join(m, lane, conn, time);
    if (lane.code !== 0) {
      // The host capture's view should own the connection: wait a window for it (the offset's uncertainty can put this view first).
      const t: Tentative = { lane, conn, time, key, events: [], deadline: this.deadline() };
      this.tentative.set(conn, t);
      const same = this.tentativeByKey.get(key);
      if (same) same.push(t);
      else this.tentativeByKey.set(key, [t]);
      this.tentativeQueue.push(t);
      return;
    }
    this.own(lane, conn, time, key);
    const same = this.tentativeByKey.get(key);
    if (same) for (const t of [...same]) if (sameIncarnation(conn, t.conn)) this.release(t);
  }

  /** A live connection another capture owns that `conn` is a view of. */
  private joinable(lane: Lane, conn: NvmeConnection, key: string): MergedConn | undefined {
    return this.live.get(key)?.find((c) => c.owner !== lane && !c.others.has(lane) && sameIncarnation(c.ownerConn, conn));
  }

  private join(m: MergedConn, lane: Lane, conn: NvmeConnection, time: number): void {
    m.others.set(lane, conn);
    m.watched = true;
    this.byLaneConn.set(conn, m);
    this.out.watched(m.conn, time, true);
  }

  /** `lane`'s view of the connection drives the model. */
  private own(lane: Lane, conn: NvmeConnection, time: number, key: string): void {
    const own = lane.code === 0 ? conn : standIn(conn, OWN_ID_BASE * lane.code + conn.id, lane.code * CAPTURE_STRIDE, time);
    const merged: MergedConn = {
      id: own.id, key, conn: own, owner: lane, ownerConn: conn, others: new Map(), h2c: newDir(), c2h: newDir(), ownerClosed: false, settled: false, watched: false, watchedUntil: Infinity,
    };
    this.byLaneConn.set(conn, merged);
    const list = this.live.get(key);
    if (list) list.push(merged);
    else this.live.set(key, [merged]);
    this.out.connection(own);
  }

  /** A held view joins the connection the host capture opened, or (none did within the window) owns it; then its events follow. */
  private release(t: Tentative): void {
    if (!this.tentative.delete(t.conn)) return;
    const same = this.tentativeByKey.get(t.key)!;
    same.splice(same.indexOf(t), 1);
    if (same.length === 0) this.tentativeByKey.delete(t.key);
    const m = this.joinable(t.lane, t.conn, t.key);
    if (m) this.join(m, t.lane, t.conn, t.time);
    else this.own(t.lane, t.conn, t.time, t.key);
    const now = this.now;
    for (const { e, time } of t.events) {
      this.now = time;
      this.emit(t.lane, e, time);
    }
    this.now = now;
  }

  private ownerPdu(m: MergedConn, lane: Lane, pdu: PduEvent, rawTime: number): void {
    pdu.conn = m.id;
    const d = m[pdu.dir];
    const offset = pdu.streamOffset;
    d.ownerEnd = Math.max(d.ownerEnd, offset + pdu.plen);
    let confirmed: Waiting | undefined;
    for (const w of d.otherWaiting) {
      if (w.done) continue;
      if (w.offset > offset) break;
      if (w.offset === offset) confirmed = w;
      else this.fill(w, 'missed'); // the owner's stream went past it: its capture missed it
    }
    prune(d.otherWaiting);
    if (pdu.dir === 'c2h' && pdu.cid !== undefined) this.commandFirst(m, pdu.cid);
    if (confirmed) {
      // The other point saw it first (the target, for what the controller sends): say so before the PDU itself.
      confirmed.done = true;
      this.pair(m, pdu.dir, lane, rawTime, confirmed.lane, confirmed.rawTime);
      this.out.sighting(confirmed.pdu, m.conn);
      d.passage.both++;
      d.passage.bytesBoth += pdu.plen;
      this.out.pdu(pdu, m.conn);
      return;
    }
    this.out.pdu(pdu, m.conn);
    // Waits even before another capture's view of the connection joins (it opens a delay later).
    const w: Waiting = { pdu, offset, rawTime, deadline: this.deadline(), lane, delivered: true, done: false, merged: m, dir: pdu.dir };
    prune(d.ownerWaiting); // what expired: a connection no other capture sees would hold every PDU otherwise
    d.ownerWaiting.push(w);
    if (d.ownerWaiting.length > this.peakWaiting) this.peakWaiting = d.ownerWaiting.length;
    this.expiry.push(w);
  }

  /**
   * The controller answers CID `cid`: a command for it that only the other capture holds (the host
   * capture missed it) goes to the model first, as it went on the wire.
   */
  private commandFirst(m: MergedConn, cid: number): void {
    const waiting = m.h2c.otherWaiting;
    for (const w of waiting) if (!w.done && w.pdu.typeName === 'CapsuleCmd' && w.pdu.sqe?.cid === cid) this.fill(w, 'missed');
    prune(waiting);
  }

  private otherPdu(m: MergedConn, lane: Lane, conn: NvmeConnection, pdu: PduEvent, rawTime: number): void {
    const delta = offsetDelta(m.ownerConn, conn, pdu.dir);
    if (delta === undefined) return;
    pdu.streamOffset += delta;
    pdu.conn = m.id;
    const d = m[pdu.dir];
    const offset = pdu.streamOffset;
    let confirmed: Waiting | undefined;
    for (const w of d.ownerWaiting) {
      if (w.done) continue;
      if (w.offset > offset) break;
      if (w.offset === offset) confirmed = w;
      else this.ownerOnly(w); // this capture went past it without seeing it
    }
    prune(d.ownerWaiting);
    if (confirmed) {
      confirmed.done = true;
      this.pair(m, pdu.dir, confirmed.lane, confirmed.rawTime, lane, rawTime);
      d.passage.both++;
      d.passage.bytesBoth += pdu.plen;
      this.out.sighting(pdu, m.conn);
      return;
    }
    const w: Waiting = { pdu, offset, rawTime, deadline: this.deadline(), lane, delivered: false, done: false, merged: m, dir: pdu.dir };
    if (offset + pdu.plen <= d.ownerEnd) {
      if (inHole(d, offset)) this.fill(w, 'missed');
      else {
        // The owner framed it before this capture caught up past the window: the same PDU, late.
        d.passage.both++;
        d.passage.bytesBoth += pdu.plen;
        this.out.sighting(pdu, m.conn);
      }
      return;
    }
    prune(d.otherWaiting);
    d.otherWaiting.push(w);
    this.expiry.push(w);
  }

  private ownerDiagnostic(m: MergedConn, diag: StreamDiagnostic, ref: number, time: number): void {
    diag.frame += ref;
    diag.time = time;
    diag.conn = m.id;
    const holeKinds = diag.kind === 'gap' || diag.kind === 'resync' || diag.kind === 'garbage' || diag.kind === 'truncated-pdu';
    if (!holeKinds || diag.streamOffset < 0 || diag.length <= 0) return this.out.diagnostic(diag, m.conn);
    const d = m[diag.dir];
    const start = diag.streamOffset;
    const end = start + diag.length;
    d.holes.push([start, end]);
    if (d.holes.length > 16) d.holes.shift();
    d.ownerEnd = Math.max(d.ownerEnd, end);
    for (const w of d.otherWaiting) {
      if (w.done || w.offset < start) continue;
      if (w.offset >= end) break;
      this.fill(w, 'missed');
    }
    prune(d.otherWaiting);
    let covered = 0;
    for (const [a, b] of d.filled) covered += Math.max(0, Math.min(b, end) - Math.max(a, start));
    // Every byte the owner's capture lost, the other capture holds: no gap in the merged stream.
    if (covered < diag.length) this.out.diagnostic(diag, m.conn);
  }

  /**
   * The owner's capture is done with the connection; the other captures' last sightings may come a
   * little later: the model hears of the close once they have had their window.
   */
  private closedByOwner(m: MergedConn): void {
    m.ownerClosed = true;
    this.closing.push({ m, deadline: this.deadline() });
  }

  private settleClosed(m: MergedConn): void {
    if (m.settled) return;
    m.settled = true;
    for (const d of [m.h2c, m.c2h]) {
      for (const w of d.otherWaiting) if (!w.done) this.resolve(w);
      for (const w of d.ownerWaiting) if (!w.done) this.resolve(w);
      d.otherWaiting.length = 0;
      d.ownerWaiting.length = 0;
    }
    const list = this.live.get(m.key);
    if (list) {
      const i = list.indexOf(m);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.live.delete(m.key);
    }
    this.ledger.fold(m);
    this.out.closed(m.conn);
  }

  /** Settles what waited past the window: shown by one point only. */
  protected expire(until: number): void {
    const q = this.expiry;
    while (this.expiryHead < q.length && q[this.expiryHead].deadline < until) {
      const w = q[this.expiryHead++];
      if (!w.done) this.resolve(w);
    }
    if (this.expiryHead > 4096 && this.expiryHead * 2 > q.length) {
      q.splice(0, this.expiryHead);
      this.expiryHead = 0;
    }
    const tq = this.tentativeQueue;
    while (this.tentativeHead < tq.length && tq[this.tentativeHead].deadline < until) this.release(tq[this.tentativeHead++]);
    if (this.tentativeHead > 1024 && this.tentativeHead * 2 > tq.length) {
      tq.splice(0, this.tentativeHead);
      this.tentativeHead = 0;
    }
    let n = 0;
    while (n < this.closing.length && this.closing[n].deadline < until) this.settleClosed(this.closing[n++].m);
    if (n > 0) this.closing.splice(0, n);
  }

  private resolve(w: Waiting): void {
    if (w.delivered) this.ownerOnly(w);
    else if (isSenderSide(w.lane, w.dir)) this.lost(w);
    else this.fill(w, 'sender-capture');
  }

  /** An owner PDU the other capture never showed. */
  private ownerOnly(w: Waiting): void {
    w.done = true;
    const other = this.lanes.find((l) => l !== w.lane)!;
    const m = w.merged;
    if (!m.watched || (m.others.size === 0 && w.pdu.time > m.watchedUntil) || !this.covering(other, w.pdu.time)) return;
    const p = w.merged[w.dir].passage;
    this.oneSided(w);
    if (isSenderSide(w.lane, w.dir)) {
      p.senderOnly++;
      p.bytesSenderOnly += w.pdu.plen;
      if (p.firstLostFrames.length < FIRST_LOST_KEPT) p.firstLostFrames.push(w.pdu.frame);
    } else {
      p.receiverOnly++;
      p.bytesReceiverOnly += w.pdu.plen;
    }
  }

  /** Another capture's PDU the owner's capture lacks but its side received (or sent): the model gets it from there. */
  private fill(w: Waiting, why: 'missed' | 'sender-capture'): void {
    w.done = true;
    const p = w.merged[w.dir].passage;
    if (w.merged.watched) this.oneSided(w);
    if (why === 'sender-capture' || !isSenderSide(w.lane, w.dir)) {
      p.receiverOnly++;
      p.bytesReceiverOnly += w.pdu.plen;
    } else {
      p.senderOnly++;
      p.bytesSenderOnly += w.pdu.plen;
    }
    const d = w.merged[w.dir];
    d.filled.push([w.offset, w.offset + w.pdu.plen]);
    if (d.filled.length > 16) d.filled.shift();
    this.out.pdu(w.pdu, w.merged.conn);
  }

  /** A PDU its sender's side showed leaving that never reached the owner's side. */
  private lost(w: Waiting): void {
    w.done = true;
    const owner = w.merged.owner;
    if (!this.covering(owner, w.pdu.time)) return;
    const p = w.merged[w.dir].passage;
    this.oneSided(w);
    p.senderOnly++;
    p.bytesSenderOnly += w.pdu.plen;
    if (p.firstLostFrames.length < FIRST_LOST_KEPT) p.firstLostFrames.push(w.pdu.frame);
    this.out.lostOnTheWay(w.pdu, w.merged.conn);
  }

  /** Was `lane` capturing at host time `t`? Outside the overlap one point saying nothing proves nothing. */
  private covering(lane: Lane, t: number): boolean {
    return this.hostTime(lane, lane.firstTime) <= t && (!lane.ended || t <= this.hostTime(lane, lane.lastTime));
  }

  /** A PDU seen at both points: a sample for the clocks (raw times of the two captures), and a passage. */
  private pair(m: MergedConn, dir: Direction, a: Lane, aTime: number, b: Lane, bTime: number): void {
    if (a.code === 0) this.clock.add(dir === 'h2c', aTime, bTime);
    else this.clock.add(dir === 'h2c', bTime, aTime);
    const host = a.code === 0 ? aTime : bTime;
    this.options.onPassage?.({ conn: m.id, dir, hostTime: host, targetTime: this.hostTime(a.code === 0 ? b : a, a.code === 0 ? bTime : aTime) });
  }

  /** A PDU one point alone saw (`time` on the host clock). */
  private oneSided(w: Waiting): void {
    const host = w.lane.code === 0;
    this.options.onPassage?.({ conn: w.merged.id, dir: w.dir, hostTime: host ? w.pdu.time : null, targetTime: host ? null : w.pdu.time });
  }

  /** What the report says about the captures, their clocks and what passed between them. */
  report(infos: { file: string; frames: number; problem: CaptureVantage['problem'] }[]): SameTrafficReport {
    const source = this.options.vantages ? 'given' as const : this.assumed ? 'assumed' as const : 'inferred' as const;
    const span = (lane: Lane, t: number) => (Number.isFinite(t) ? this.hostTime(lane, t) : null);
    const captures = [...this.lanes].sort((a, b) => a.code - b.code).map((lane) => ({
      label: captureLabel(lane.code), ...infos[lane.index], vantage: this.vantages[lane.index], vantageSource: source, firstTime: span(lane, lane.firstTime), lastTime: span(lane, lane.lastTime),
    }));
    const clock = this.options.offsetS === undefined ? this.clock.alignment() : { ...this.clock.alignment(), source: 'given' as const, offsetMs: this.options.offsetS * 1000 };
    for (const list of this.live.values()) for (const m of list) if (!m.settled) this.ledger.fold(m);
    return { captures, clock, ...this.ledger.report(captures) };
  }
}

/** Is `lane` on the side of `dir`'s sender (the host capture for host→controller PDUs)? */
function isSenderSide(lane: Lane, dir: Direction): boolean {
  return (dir === 'h2c') === (lane.code === 0);
}
