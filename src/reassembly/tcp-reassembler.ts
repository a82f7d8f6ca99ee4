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

/** One direction of a connection: the next expected byte and the segments waiting for a hole to fill. */
class HalfStream {
  /** UNSET until the first byte or SYN of this side fixes the sequence origin. */
  next = UNSET;
  isn = UNSET;
  held: Held[] = [];
  heldBytes = 0;
  /** Highest ack number the other side sent: bytes below it reached the receiver. */
  peerAck = UNSET;
  finished = false;
}

interface Flow {
  conn: TcpConnection;
  accepted: boolean;
  /** 4-tuple of side 0 as seen in segments: to tell directions apart. */
  s0: number; s1: number; s2: number; s3: number; sport: number;
  d0: number; d1: number; d2: number; d3: number; dport: number;
  halves: [HalfStream, HalfStream];
  closed: boolean;
}

/**
 * TCP reassembly, protocol-agnostic. Overlap rule: bytes are delivered once,
 * in sequence order; bytes already delivered are never replaced, so the first
 * copy of a byte to become deliverable wins and retransmissions are trimmed.
 * A hole is declared lost (a gap) when the receiver acknowledged past it, when
 * the buffered bytes behind it exceed the limit, or when the side closes or the
 * capture ends.
 */
export class TcpReassembler implements SegmentSink {
  readonly stats: ReassemblyStats = {
    connections: 0, ignoredConnections: 0, retransmittedBytes: 0, outOfOrderSegments: 0, gaps: 0, lostBytes: 0,
  };
  private readonly flows = new Map<number, Flow[]>();
  private nextId = 1;

  constructor(
    private readonly sink: StreamSink,
    private readonly limits: ReassemblyLimits = DEFAULT_LIMITS,
  ) {}

  segment(s: TcpSegment): void {
    const hash = tupleHash(s);
    let bucket = this.flows.get(hash);
    let flow: Flow | undefined;
    let side: Side = 0;
    if (bucket) {
      for (let i = 0; i < bucket.length; i++) {
        const f = bucket[i];
        if (f.sport === s.srcPort && f.dport === s.dstPort && f.s3 === s.src3 && f.d3 === s.dst3 && f.s0 === s.src0 && f.s1 === s.src1 && f.s2 === s.src2 && f.d0 === s.dst0 && f.d1 === s.dst1 && f.d2 === s.dst2) {
          flow = f; side = 0; break;
        }
        if (f.sport === s.dstPort && f.dport === s.srcPort && f.s3 === s.dst3 && f.d3 === s.src3 && f.s0 === s.dst0 && f.s1 === s.dst1 && f.s2 === s.dst2 && f.d0 === s.src0 && f.d1 === s.src1 && f.d2 === s.src2) {
          flow = f; side = 1; break;
        }
      }
    } else {
      bucket = [];
      this.flows.set(hash, bucket);
    }
    const flags = s.flags;
    if (flow && (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN && this.isNewInstance(flow, side, s.seq)) {
      // A fresh SYN on a used 4-tuple starts a new connection instance.
      this.close(flow);
      bucket.splice(bucket.indexOf(flow), 1);
      flow = undefined;
    }
    if (!flow) {
      flow = this.createFlow(s);
      bucket.push(flow);
      side = 0;
    }
    if (!flow.accepted) return;
    this.onSegment(flow, side, s);
  }

  /** End of capture: flush every connection (holes become gaps). */
  finish(): void {
    const all: Flow[] = [];
    for (const bucket of this.flows.values()) for (const f of bucket) all.push(f);
    all.sort((a, b) => a.conn.id - b.conn.id);
    for (const f of all) this.close(f);
    this.flows.clear();
  }

  private isNewInstance(flow: Flow, side: Side, seq: number): boolean {
    const half = flow.halves[side];
    if (flow.closed || half.finished || flow.halves[side ^ 1].finished) return true;
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
      firstFrame: s.frame,
      firstTime: s.time,
    };
    if (flip) conn.endpoints.reverse();
    const flow: Flow = flip
      ? { conn, accepted: true, s0: s.dst0, s1: s.dst1, s2: s.dst2, s3: s.dst3, sport: s.dstPort, d0: s.src0, d1: s.src1, d2: s.src2, d3: s.src3, dport: s.srcPort, halves: [new HalfStream(), new HalfStream()], closed: false }
      : { conn, accepted: true, s0: s.src0, s1: s.src1, s2: s.src2, s3: s.src3, sport: s.srcPort, d0: s.dst0, d1: s.dst1, d2: s.dst2, d3: s.dst3, dport: s.dstPort, halves: [new HalfStream(), new HalfStream()], closed: false };
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
    this.sink.packet(conn, side, s.frame, s.time);

    if (flags & TcpFlag.SYN) {
      if (half.isn === UNSET) {
        half.isn = s.seq;
        half.next = (s.seq + 1) >>> 0;
        facts.synFrame = s.frame;
        facts.synTime = s.time;
        this.sink.flag(conn, side, 'syn', s.frame, s.time);
      }
    }
    if (flags & TcpFlag.ACK) {
      peer.peerAck = s.ack;
      if (peer.held.length > 0 && peer.next !== UNSET && seqDiff(s.ack, peer.next) > 0) {
        this.deliverHeld(flow, (side ^ 1) as Side, s.frame, s.time, s.ack);
      }
    }

    const dataSeq = flags & TcpFlag.SYN ? (s.seq + 1) >>> 0 : s.seq;
    const length = s.payloadLength + s.payloadMissing;
    if (length > 0 && !half.finished && flow.accepted) {
      if (half.next === UNSET) half.next = dataSeq; // joined mid-stream: the first byte seen is the origin
      this.onPayload(flow, side, half, s, dataSeq);
    }

    if (flags & TcpFlag.RST) {
      if (facts.rstFrame === undefined) {
        facts.rstFrame = s.frame;
        facts.rstTime = s.time;
        this.sink.flag(conn, side, 'rst', s.frame, s.time);
      }
      this.flushHeld(flow, 0, s.frame, s.time);
      this.flushHeld(flow, 1, s.frame, s.time);
      half.finished = true;
      peer.finished = true;
      flow.closed = true;
    } else if (flags & TcpFlag.FIN && facts.finFrame === undefined) {
      facts.finFrame = s.frame;
      facts.finTime = s.time;
      this.flushHeld(flow, side, s.frame, s.time);
      half.finished = true;
      this.sink.flag(conn, side, 'fin', s.frame, s.time);
      if (peer.finished) flow.closed = true;
    }
  }

  private onPayload(flow: Flow, side: Side, half: HalfStream, s: TcpSegment, seq: number): void {
    const next = half.next;
    const total = s.payloadLength + s.payloadMissing;
    const ahead = seqDiff(seq, next);
    if (ahead > 0) {
      this.stats.outOfOrderSegments++;
      // Ahead of a hole. If the receiver already acknowledged the hole, the capture missed it.
      if (half.peerAck !== UNSET && seqDiff(half.peerAck, next) > 0) {
        this.declareLost(flow, side, Math.min(ahead, seqDiff(half.peerAck, next)), s.frame, s.time);
        return this.onPayload(flow, side, half, s, seq);
      }
      this.hold(flow, side, half, s, seq);
      return;
    }
    // Retransmission or overlap: trim what was already delivered.
    const skip = -ahead;
    if (skip >= total) {
      this.stats.retransmittedBytes += total;
      return;
    }
    this.stats.retransmittedBytes += skip;
    const presentFrom = Math.min(skip, s.payloadLength);
    if (presentFrom < s.payloadLength) {
      this.deliver(flow, side, s.bytes, s.payloadOffset + presentFrom, s.payloadLength - presentFrom, s.frame, s.time);
    }
    const missing = total - Math.max(skip, s.payloadLength);
    if (missing > 0) this.declareLost(flow, side, missing, s.frame, s.time, 'snaplen');
    if (half.held.length > 0 && flow.accepted) this.deliverHeld(flow, side, s.frame, s.time, undefined);
  }

  private hold(flow: Flow, side: Side, half: HalfStream, s: TcpSegment, seq: number): void {
    const copy = s.bytes.slice(s.payloadOffset, s.payloadOffset + s.payloadLength);
    const entry: Held = { seq, bytes: copy, missingAfter: s.payloadMissing };
    let i = half.held.length;
    while (i > 0 && seqDiff(half.held[i - 1].seq, seq) > 0) i--;
    half.held.splice(i, 0, entry);
    half.heldBytes += copy.length;
    while (half.heldBytes > this.limits.maxBufferedBytesPerSide && half.held.length > 0) {
      // Memory is capped: give up on the hole and move on to the buffered bytes.
      this.declareLost(flow, side, seqDiff(half.held[0].seq, half.next), s.frame, s.time);
      this.deliverHeld(flow, side, s.frame, s.time, undefined);
    }
  }

  /** Delivers held segments that became contiguous; `lostUpTo` first declares bytes before it lost. */
  private deliverHeld(flow: Flow, side: Side, frame: number, time: number, lostUpTo: number | undefined): void {
    const half = flow.halves[side];
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
        this.stats.retransmittedBytes += total;
        continue;
      }
      this.stats.retransmittedBytes += skip;
      if (skip < first.bytes.length) this.deliver(flow, side, first.bytes, skip, first.bytes.length - skip, frame, time);
      const missing = total - Math.max(skip, first.bytes.length);
      if (missing > 0) this.declareLost(flow, side, missing, frame, time, 'snaplen');
    }
  }

  /** Side closing or capture ending: every hole before held bytes is lost. */
  private flushHeld(flow: Flow, side: Side, frame: number, time: number): void {
    const half = flow.halves[side];
    while (half.held.length > 0) {
      const gap = seqDiff(half.held[0].seq, half.next);
      if (gap > 0) this.declareLost(flow, side, gap, frame, time);
      this.deliverHeld(flow, side, frame, time, undefined);
    }
  }

  private deliver(flow: Flow, side: Side, bytes: Uint8Array, offset: number, length: number, frame: number, time: number): void {
    const half = flow.halves[side];
    half.next = (half.next + length) >>> 0;
    flow.conn.sides[side].bytesDelivered += length;
    if (!this.sink.data(flow.conn, side, bytes, offset, length, frame, time)) this.ignore(flow);
  }

  private declareLost(flow: Flow, side: Side, length: number, frame: number, time: number, cause: GapCause = 'not-captured'): void {
    if (length <= 0) return;
    const half = flow.halves[side];
    half.next = (half.next + length) >>> 0;
    flow.conn.sides[side].bytesLost += length;
    this.stats.gaps++;
    this.stats.lostBytes += length;
    this.sink.gap(flow.conn, side, length, frame, time, cause);
  }

  private ignore(flow: Flow): void {
    flow.accepted = false;
    for (const half of flow.halves) {
      half.held = [];
      half.heldBytes = 0;
    }
    this.stats.connections--;
    this.stats.ignoredConnections++;
  }

  private close(flow: Flow): void {
    if (!flow.accepted) return;
    const last = Math.max(flow.conn.sides[0].lastFrame, flow.conn.sides[1].lastFrame);
    const lastTime = Math.max(flow.conn.sides[0].lastTime, flow.conn.sides[1].lastTime);
    this.flushHeld(flow, 0, last, lastTime);
    this.flushHeld(flow, 1, last, lastTime);
    flow.accepted = false;
    this.sink.closed(flow.conn);
  }
}

function newSideFacts(): SideFacts {
  return { lastFrame: 0, lastTime: 0, bytesDelivered: 0, bytesLost: 0 };
}

/** Direction-independent hash of the 4-tuple. */
function tupleHash(s: TcpSegment): number {
  const a = (s.src3 ^ s.src2 ^ s.src1 ^ s.src0) + s.srcPort;
  const b = (s.dst3 ^ s.dst2 ^ s.dst1 ^ s.dst0) + s.dstPort;
  return ((a ^ b) + Math.imul(s.srcPort ^ s.dstPort, 0x9e3779b1)) | 0;
}
