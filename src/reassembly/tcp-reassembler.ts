import { flowHash, tupleHash } from './flow-hash.js';
import { formatAddress, TcpFlag, type SegmentSink, type TcpSegment } from '../decode/types.js';
import {
  DEFAULT_LIMITS, type GapCause, type ReassemblyLimits, type ReassemblyStats, type Side, type SideFacts, type StreamSink, type TcpConnection,
} from './types.js';

/** Signed distance a - b in 32-bit sequence space. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

interface Held {
  seq: number;
  bytes: Uint8Array;
  /** Payload the capture cut off after these bytes (snaplen). */
  missingAfter: number;
}

/**
 * A sequence number not known yet. Sequence numbers are uint32 and mostly
 * above V8's small-integer range: fields that start as a number hold them in
 * place, fields that start undefined would box every value stored per packet.
 */
const UNSET = -1;

const NO_HELD: Held[] = Object.freeze([]) as unknown as Held[];

/** One direction of a connection: the next expected byte and the segments waiting for a hole to fill. */
class HalfStream {
  /** UNSET until the first byte or SYN of this side fixes the sequence origin. */
  next = UNSET;
  /** Stream offset of `next`: bytes delivered plus bytes declared lost so far. */
  offset = 0;
  isn = UNSET;
  /** Out-of-order segments; a shared read-only empty list until the first one (most streams never hold any). */
  held: Held[] = NO_HELD;
  heldBytes = 0;
  /** Highest ack number the other side sent: bytes below it reached the receiver. */
  peerAck = UNSET;
  /** Where this side's stream stops: the sequence number of its FIN, or of its RST. UNSET while open. */
  endSeq = UNSET;
  /** Every byte before `endSeq` was delivered or declared lost: the stream is over. */
  ended = false;
}

interface Flow {
  conn: TcpConnection;
  accepted: boolean;
  /** 4-tuple of side 0 as seen in segments: to tell directions apart. */
  s0: number; s1: number; s2: number; s3: number; sport: number;
  d0: number; d1: number; d2: number; d3: number; dport: number;
  halves: [HalfStream, HalfStream];
  closed: boolean;
  /** Time of the last segment, for closing connections left half-open. */
  lastTime: number;
}

/** Largest TCP receive window (65535 << 14): an RST further ahead than this is outside any window. */
const MAX_WINDOW = 0x3fffc000;
/** Linux keeps a connection closed by both sides in TIME_WAIT for 60 s. */
const TIME_WAIT_S = 60;
/** How often (capture seconds) ending connections are checked for silence. */
const SWEEP_INTERVAL_S = 10;

/**
 * TCP reassembly, protocol-agnostic. Overlap rule: bytes are delivered once,
 * in sequence order; bytes already delivered are never replaced, so the first
 * copy of a byte to become deliverable wins and retransmissions are trimmed.
 * A hole is declared lost (a gap) when the receiver acknowledged past it, when
 * the buffered bytes behind it exceed the limit, when its side resets, or when
 * the connection closes or the capture ends. FIN and RST end only their
 * sender's direction: what the other side sends afterwards is still delivered,
 * and holes before a FIN can still be filled by retransmissions.
 */
export class TcpReassembler implements SegmentSink {
  readonly stats: ReassemblyStats = {
    connections: 0, ignoredConnections: 0, retransmittedBytes: 0, afterEndBytes: 0, outOfOrderSegments: 0, gaps: 0, lostBytes: 0,
  };
  private readonly flows = new Map<number, Flow[]>();
  /** Connections with a side ended: closed after a silence (TIME_WAIT once both ended, `lingerSeconds` before). */
  private readonly ending = new Set<Flow>();
  private nextSweep = -Infinity;
  /** The flow of the previous segment: checked before the table. A SYN always goes through the table (it may start a new instance). */
  private lastFlow: Flow | undefined = undefined;
  private nextId = 1;

  constructor(
    private readonly sink: StreamSink,
    private readonly limits: ReassemblyLimits = DEFAULT_LIMITS,
  ) {}

  segment(s: TcpSegment): void {
    if (s.time >= this.nextSweep) this.sweep(s.time);
    // Consecutive segments mostly belong to one connection (a command and its response, a burst of data).
    const last = this.lastFlow;
    if (last && (s.flags & TcpFlag.SYN) === 0) {
      const side = sideOf(last, s);
      if (side >= 0) return this.onFlowSegment(last, side as Side, s);
    }
    const hash = tupleHash(s);
    let bucket = this.flows.get(hash);
    let flow: Flow | undefined;
    let side: Side = 0;
    if (bucket) {
      for (let i = 0; i < bucket.length; i++) {
        const found = sideOf(bucket[i], s);
        if (found >= 0) {
          flow = bucket[i];
          side = found as Side;
          break;
        }
      }
    } else {
      bucket = [];
      this.flows.set(hash, bucket);
    }
    const flags = s.flags;
    if (flow && (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN && this.isNewInstance(flow, side, s.seq)) {
      // A fresh SYN on a used 4-tuple starts a new connection instance.
      this.remove(flow);
      flow = undefined;
    }
    if (!flow) {
      flow = this.createFlow(s);
      const current = this.flows.get(hash);
      if (current) current.push(flow);
      else this.flows.set(hash, [flow]);
      side = 0;
    }
    this.onFlowSegment(flow, side, s);
  }

  private onFlowSegment(flow: Flow, side: Side, s: TcpSegment): void {
    flow.lastTime = s.time;
    this.lastFlow = flow;
    if (flow.accepted) this.onSegment(flow, side, s);
  }

  /** End of capture: flush every connection (holes become gaps). */
  finish(): void {
    const all: Flow[] = [];
    for (const bucket of this.flows.values()) for (const f of bucket) all.push(f);
    all.sort((a, b) => a.conn.id - b.conn.id);
    for (const f of all) this.close(f);
    this.flows.clear();
    this.ending.clear();
    this.lastFlow = undefined;
  }

  private isNewInstance(flow: Flow, side: Side, seq: number): boolean {
    const half = flow.halves[side];
    if (flow.closed || half.endSeq !== UNSET || flow.halves[side ^ 1].endSeq !== UNSET) return true;
    if (half.isn !== UNSET) return half.isn !== seq;
    return half.next !== UNSET;
  }

  private createFlow(s: TcpSegment): Flow {
    // A SYN-ACK seen first means the sender is the responder: make the other end side 0.
    const flip = (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    const conn: TcpConnection = {
      id: this.nextId++,
      ipVersion: s.ipVersion,
      endpoints: [
        { address: formatAddress(s.ipVersion, s.src0, s.src1, s.src2, s.src3), port: s.srcPort },
        { address: formatAddress(s.ipVersion, s.dst0, s.dst1, s.dst2, s.dst3), port: s.dstPort },
      ],
      sides: [newSideFacts(), newSideFacts()],
      sawOpen: (s.flags & TcpFlag.SYN) !== 0,
      seqOrigin: [UNSET, UNSET],
      firstFrame: s.frame,
      firstTime: s.time,
    };
    if (flip) conn.endpoints.reverse();
    const halves: [HalfStream, HalfStream] = [new HalfStream(), new HalfStream()];
    const flow: Flow = flip
      ? { conn, accepted: true, s0: s.dst0, s1: s.dst1, s2: s.dst2, s3: s.dst3, sport: s.dstPort, d0: s.src0, d1: s.src1, d2: s.src2, d3: s.src3, dport: s.srcPort, halves, closed: false, lastTime: s.time }
      : { conn, accepted: true, s0: s.src0, s1: s.src1, s2: s.src2, s3: s.src3, sport: s.srcPort, d0: s.dst0, d1: s.dst1, d2: s.dst2, d3: s.dst3, dport: s.dstPort, halves, closed: false, lastTime: s.time };
    const first = s.payloadLength > 0 ? s.bytes.subarray(s.payloadOffset, s.payloadOffset + s.payloadLength) : undefined;
    flow.accepted = this.sink.opened(conn, first);
    if (flow.accepted) this.stats.connections++;
    else this.stats.ignoredConnections++;
    return flow;
  }

  private onSegment(flow: Flow, side: Side, s: TcpSegment): void {
    const conn = flow.conn;
    const facts = conn.sides[side];
    const half = flow.halves[side];
    const peer = flow.halves[side ^ 1];
    const flags = s.flags;
    facts.lastFrame = s.frame;
    facts.lastTime = s.time;
    let peerAcked = -1;
    if (flags & TcpFlag.ACK && peer.next !== UNSET) {
      const acked = peer.offset + seqDiff(s.ack, peer.next);
      if (acked >= 0) peerAcked = acked;
    }
    this.sink.packet(conn, side, s.frame, s.time, peerAcked);

    if (flags & TcpFlag.SYN) {
      if (half.isn === UNSET) {
        half.isn = s.seq;
        half.next = (s.seq + 1) >>> 0;
        flow.conn.seqOrigin[side] = half.next;
        facts.synFrame = s.frame;
        facts.synTime = s.time;
        this.sink.flag(conn, side, 'syn', s.frame, s.time, false);
      }
    }
    if (flags & TcpFlag.ACK) {
      peer.peerAck = s.ack;
      if (peer.next !== UNSET && seqDiff(s.ack, peer.next) > 0 && !peer.ended) {
        // The receiver has bytes the capture lacks: holes below the ack will never be filled.
        const peerSide = (side ^ 1) as Side;
        if (peer.held.length > 0) this.deliverHeld(flow, peerSide, s.frame, s.time, s.ack);
        if (peer.endSeq !== UNSET && peer.held.length === 0) {
          const upTo = seqDiff(s.ack, peer.endSeq) > 0 ? peer.endSeq : s.ack;
          this.declareLost(flow, peerSide, seqDiff(upTo, peer.next), s.frame, s.time);
          this.endIfComplete(flow, peerSide, s.frame, s.time);
        }
      }
    }

    const dataSeq = flags & TcpFlag.SYN ? (s.seq + 1) >>> 0 : s.seq;
    const length = s.payloadLength + s.payloadMissing;
    if (length > 0 && flow.accepted) {
      if (half.next === UNSET) {
        half.next = dataSeq; // joined mid-stream: the first byte seen is the origin
        flow.conn.seqOrigin[side] = dataSeq;
      }
      this.onPayload(flow, side, half, s, dataSeq);
    }

    if (flags & TcpFlag.RST) this.onReset(flow, side, s);
    else if (flags & TcpFlag.FIN && facts.finFrame === undefined && half.endSeq === UNSET) {
      facts.finFrame = s.frame;
      facts.finTime = s.time;
      half.endSeq = (dataSeq + length) >>> 0;
      this.sink.flag(conn, side, 'fin', s.frame, s.time, false);
      this.endIfComplete(flow, side, s.frame, s.time);
    }
  }

  /**
   * An RST ends its sender's direction, if the receiver would accept it: its
   * sequence number must lie in the receiver's window (from the next byte the
   * receiver expects, as far as the largest window reaches).
   */
  private onReset(flow: Flow, side: Side, s: TcpSegment): void {
    const conn = flow.conn;
    const facts = conn.sides[side];
    const half = flow.halves[side];
    if (facts.rstFrame !== undefined) return;
    const expected = half.peerAck !== UNSET ? half.peerAck : half.next;
    const ahead = expected === UNSET ? 0 : seqDiff(s.seq, expected);
    if (ahead < 0 || ahead >= MAX_WINDOW) {
      if (facts.rstOutOfWindowFrame === undefined) {
        facts.rstOutOfWindowFrame = s.frame;
        this.sink.flag(conn, side, 'rst', s.frame, s.time, true);
      }
      return;
    }
    facts.rstFrame = s.frame;
    facts.rstTime = s.time;
    this.sink.flag(conn, side, 'rst', s.frame, s.time, false);
    if (half.ended) return;
    // The sender is gone: its holes will never be filled, and what it sent before the RST and
    // the capture lacks is lost.
    this.flushHeld(flow, side, s.frame, s.time);
    if (half.next !== UNSET) {
      const stop = half.endSeq !== UNSET && seqDiff(s.seq, half.endSeq) > 0 ? half.endSeq : s.seq;
      this.declareLost(flow, side, seqDiff(stop, half.next), s.frame, s.time);
    }
    if (half.endSeq === UNSET) half.endSeq = half.next === UNSET ? s.seq : half.next;
    this.end(flow, side, s.frame, s.time);
  }

  private onPayload(flow: Flow, side: Side, half: HalfStream, s: TcpSegment, seq: number): void {
    let present = s.payloadLength;
    let total = present + s.payloadMissing;
    if (half.endSeq !== UNSET) {
      if (half.ended) {
        // Nothing more of this stream is framed: old bytes are duplicates, new ones came after its end.
        const old = Math.min(total, Math.max(0, -seqDiff(seq, half.next)));
        this.duplicate(flow.conn.sides[side], old);
        this.afterEnd(flow, side, total - old, s.frame, s.time);
        return;
      }
      // Bytes at or beyond the FIN's sequence number cannot belong to the stream.
      const within = Math.max(0, Math.min(total, seqDiff(half.endSeq, seq)));
      if (within < total) {
        this.afterEnd(flow, side, total - within, s.frame, s.time);
        total = within;
        present = Math.min(present, within);
        if (total === 0) return;
      }
    }
    const next = half.next;
    const ahead = seqDiff(seq, next);
    if (ahead > 0) {
      this.stats.outOfOrderSegments++;
      // Ahead of a hole. If the receiver already acknowledged the hole, the capture missed it.
      if (half.peerAck !== UNSET && seqDiff(half.peerAck, next) > 0) {
        this.declareLost(flow, side, Math.min(ahead, seqDiff(half.peerAck, next)), s.frame, s.time);
        return this.onPayload(flow, side, half, s, seq);
      }
      this.hold(flow, side, half, s.bytes.slice(s.payloadOffset, s.payloadOffset + present), total - present, seq, s.frame, s.time);
      return;
    }
    // Retransmission or overlap: trim what was already delivered.
    const skip = -ahead;
    if (skip > 0) {
      this.duplicate(flow.conn.sides[side], Math.min(skip, total));
      if (skip >= total) return;
    }
    const presentFrom = Math.min(skip, present);
    if (presentFrom < present) {
      this.deliver(flow, side, s.bytes, s.payloadOffset + presentFrom, present - presentFrom, s.frame, s.time);
    }
    const missing = total - Math.max(skip, present);
    if (missing > 0) this.declareLost(flow, side, missing, s.frame, s.time, 'snaplen');
    if (half.held.length > 0 && flow.accepted) this.deliverHeld(flow, side, s.frame, s.time, undefined);
    if (half.endSeq !== UNSET) this.endIfComplete(flow, side, s.frame, s.time);
  }

  private hold(flow: Flow, side: Side, half: HalfStream, copy: Uint8Array, missingAfter: number, seq: number, frame: number, time: number): void {
    const entry: Held = { seq, bytes: copy, missingAfter };
    if (half.held === NO_HELD) half.held = [];
    let i = half.held.length;
    while (i > 0 && seqDiff(half.held[i - 1].seq, seq) > 0) i--;
    half.held.splice(i, 0, entry);
    half.heldBytes += copy.length;
    while (half.heldBytes > this.limits.maxBufferedBytesPerSide && half.held.length > 0) {
      // Memory is capped: give up on the hole and move on to the buffered bytes.
      this.declareLost(flow, side, seqDiff(half.held[0].seq, half.next), frame, time);
      this.deliverHeld(flow, side, frame, time, undefined);
    }
  }

  /** Delivers held segments that became contiguous; `lostUpTo` first declares bytes before it lost. */
  private deliverHeld(flow: Flow, side: Side, frame: number, time: number, lostUpTo: number | undefined): void {
    const half = flow.halves[side];
    const facts = flow.conn.sides[side];
    while (half.held.length > 0 && flow.accepted) {
      const first = half.held[0];
      const next = half.next;
      const ahead = seqDiff(first.seq, next);
      if (ahead > 0) {
        if (lostUpTo === undefined || seqDiff(lostUpTo, next) <= 0) return;
        this.declareLost(flow, side, Math.min(ahead, seqDiff(lostUpTo, next)), frame, time);
        continue;
      }
      half.held.shift();
      half.heldBytes -= first.bytes.length;
      const skip = -ahead;
      const total = first.bytes.length + first.missingAfter;
      if (skip >= total) {
        this.duplicate(facts, total);
        continue;
      }
      this.duplicate(facts, skip);
      if (skip < first.bytes.length) this.deliver(flow, side, first.bytes, skip, first.bytes.length - skip, frame, time);
      const missing = total - Math.max(skip, first.bytes.length);
      if (missing > 0) this.declareLost(flow, side, missing, frame, time, 'snaplen');
    }
  }

  /** The side's holes will never be filled: every hole before held bytes is lost. */
  private flushHeld(flow: Flow, side: Side, frame: number, time: number): void {
    const half = flow.halves[side];
    while (half.held.length > 0 && flow.accepted) {
      const gap = seqDiff(half.held[0].seq, half.next);
      if (gap > 0) this.declareLost(flow, side, gap, frame, time);
      this.deliverHeld(flow, side, frame, time, undefined);
    }
  }

  /** Ends the side once every byte before its FIN was delivered or declared lost. */
  private endIfComplete(flow: Flow, side: Side, frame: number, time: number): void {
    const half = flow.halves[side];
    if (half.ended || half.endSeq === UNSET || half.held.length > 0 || half.next === UNSET || seqDiff(half.endSeq, half.next) > 0) return;
    this.end(flow, side, frame, time);
  }

  private end(flow: Flow, side: Side, frame: number, time: number): void {
    const half = flow.halves[side];
    half.ended = true;
    if (!flow.accepted) return;
    this.sink.ended(flow.conn, side, frame, time);
    this.ending.add(flow);
    if (flow.halves[side ^ 1].ended) {
      // Both streams are complete: nothing more can be delivered, so the stages above let go now.
      // The flow stays a tombstone until TIME_WAIT ends: late segments are still counted on it.
      flow.closed = true;
      this.sink.closed(flow.conn);
    }
  }

  private deliver(flow: Flow, side: Side, bytes: Uint8Array, offset: number, length: number, frame: number, time: number): void {
    const half = flow.halves[side];
    half.next = (half.next + length) >>> 0;
    half.offset += length;
    flow.conn.sides[side].bytesDelivered += length;
    if (!this.sink.data(flow.conn, side, bytes, offset, length, frame, time)) this.ignore(flow);
  }

  private declareLost(flow: Flow, side: Side, length: number, frame: number, time: number, cause: GapCause = 'not-captured'): void {
    if (length <= 0) return;
    const half = flow.halves[side];
    const facts = flow.conn.sides[side];
    half.next = (half.next + length) >>> 0;
    half.offset += length;
    facts.bytesLost += length;
    if (cause === 'snaplen') facts.bytesCut += length;
    this.stats.gaps++;
    this.stats.lostBytes += length;
    this.sink.gap(flow.conn, side, length, frame, time, cause);
  }

  private duplicate(facts: SideFacts, length: number): void {
    if (length <= 0) return;
    facts.bytesDuplicate += length;
    this.stats.retransmittedBytes += length;
  }

  private afterEnd(flow: Flow, side: Side, length: number, frame: number, time: number): void {
    if (length <= 0) return;
    flow.conn.sides[side].bytesAfterEnd += length;
    this.stats.afterEndBytes += length;
    this.sink.afterEnd(flow.conn, side, length, frame, time);
  }

  private ignore(flow: Flow): void {
    flow.accepted = false;
    for (const half of flow.halves) {
      half.held = NO_HELD;
      half.heldBytes = 0;
    }
    this.stats.connections--;
    this.stats.ignoredConnections++;
  }

  /**
   * Closes ending connections after a silence: still kept that long, their trailing ACKs and
   * retransmissions are counted on them instead of opening a phantom connection.
   */
  private sweep(now: number): void {
    this.nextSweep = now + SWEEP_INTERVAL_S;
    if (this.ending.size === 0) return;
    const idle: Flow[] = [];
    for (const f of this.ending) {
      const quiet = f.halves[0].ended && f.halves[1].ended ? TIME_WAIT_S : this.limits.lingerSeconds;
      if (now - f.lastTime > quiet) idle.push(f);
    }
    idle.sort((a, b) => a.conn.id - b.conn.id);
    for (const f of idle) this.remove(f);
  }

  /** Closes a connection and forgets it. */
  private remove(flow: Flow): void {
    if (flow === this.lastFlow) this.lastFlow = undefined;
    this.close(flow);
    this.ending.delete(flow);
    const hash = flowHash(flow);
    const bucket = this.flows.get(hash);
    if (!bucket) return;
    const i = bucket.indexOf(flow);
    if (i >= 0) bucket.splice(i, 1);
    if (bucket.length === 0) this.flows.delete(hash);
  }

  private close(flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    if (!flow.accepted) return;
    const last = Math.max(flow.conn.sides[0].lastFrame, flow.conn.sides[1].lastFrame);
    const lastTime = Math.max(flow.conn.sides[0].lastTime, flow.conn.sides[1].lastTime);
    this.flushHeld(flow, 0, last, lastTime);
    this.flushHeld(flow, 1, last, lastTime);
    flow.accepted = false;
    this.sink.closed(flow.conn);
  }
}

export function newSideFacts(): SideFacts {
  return { lastFrame: 0, lastTime: 0, bytesDelivered: 0, bytesLost: 0, bytesDuplicate: 0, bytesAfterEnd: 0, bytesCut: 0 };
}

/** 0: the segment goes from the flow's side 0, 1: from its side 1, -1: another connection. */
function sideOf(f: Flow, s: TcpSegment): number {
  if (f.sport === s.srcPort && f.dport === s.dstPort && f.s3 === s.src3 && f.d3 === s.dst3 && f.s0 === s.src0 && f.s1 === s.src1 && f.s2 === s.src2 && f.d0 === s.dst0 && f.d1 === s.dst1 && f.d2 === s.dst2) return 0;
  if (f.sport === s.dstPort && f.dport === s.srcPort && f.s3 === s.dst3 && f.d3 === s.src3 && f.s0 === s.dst0 && f.s1 === s.dst1 && f.s2 === s.dst2 && f.d0 === s.src0 && f.d1 === s.src1 && f.d2 === s.src2) return 1;
  return -1;
}
