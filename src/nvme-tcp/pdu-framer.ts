import type { BodyPlan, ByteAccount, FramedPdu, FramerCallbacks } from './framer-types.js';
import { u32le } from '../common/bytes.js';
import { crc32cUpdate } from './crc32c.js';
import { frameableLength, hasDataDigest, hasHeaderDigest, headerLength, isPlausibleHeader } from './header-rules.js';

export type { BodyPlan, ByteAccount, FramedPdu, FramerCallbacks } from './framer-types.js';

const MAX_HEADER = 255 + 4;
/** Bytes buffered while looking for a PDU boundary before the oldest are given up. */
export const HUNT_LIMIT = 4 * 1024 * 1024;
/** Consecutive plausible headers that confirm a boundary. */
const CONFIRMATIONS = 3;

type State = 'header' | 'body' | 'hunt';

/** Shared by every framer until it needs a buffer of its own: a connection's framers mostly never do. */
const EMPTY = new Uint8Array(0);
const NO_BODY_PLAN: BodyPlan = Object.freeze({ verifyDigest: false });
/** The hunt's segment runs until it first holds bytes: read-only, replaced before the first push. */
const NO_RUNS: number[] = Object.freeze([]) as unknown as number[];


/**
 * Frames one direction of an NVMe/TCP stream into PDUs: fixed 8-byte common
 * header, `plen` at offset 4. Header bytes are copied (they are small), body
 * bytes are skipped by length unless the plan asks to collect or digest them.
 * When the stream was joined mid-way, or bytes were lost outside a PDU body,
 * it hunts: buffers bytes and accepts an offset only when several consecutive
 * headers there are plausible, then replays the buffered bytes.
 */
export class PduFramer {
  private state: State;
  /** A header split across segments is assembled here; allocated on the first split (most streams never split one). */
  private hdr = EMPTY;
  private hdrLen = 0;
  private hdrNeed = 8;
  /** Position inside the current PDU (bytes consumed). */
  private pos = 0;
  private dataStart = 0;
  private dataEnd = 0;
  private plan: BodyPlan = NO_BODY_PLAN;
  private crc = 0;
  /** The data digest being read, when the stream carries data digests. */
  private ddgst = EMPTY;
  private ddgstLen = 0;
  /** Stream offset of the next byte to arrive. */
  private offset = 0;
  /** Once the stream has ended: pdu + skipped + lost === streamOffset. */
  readonly account: ByteAccount = { pdu: 0, skipped: 0, lost: 0 };
  private readonly cur: FramedPdu = {
    type: 0, flags: 0, hlen: 0, pdo: 0, plen: 0, streamOffset: 0, firstFrame: 0, firstTime: 0,
    hdgstOk: undefined, ddgstOk: undefined, missing: 0, lossCause: undefined, lossFrame: 0, lossTime: 0, collected: 0,
  };
  // Hunt buffer: bytes and the frame each run of them arrived in.
  private hunt = EMPTY;
  private huntLen = 0;
  private huntOffset = 0;
  private huntScan = 0;
  private huntFrames: number[] = NO_RUNS;
  private huntTimes: number[] = NO_RUNS;
  private huntStarts: number[] = NO_RUNS;

  constructor(
    private readonly callbacks: FramerCallbacks,
    /** PDU types this direction may send; decides what a plausible header is. */
    private allowed: Set<number>,
    startInSync: boolean,
  ) {
    this.state = startInSync ? 'header' : 'hunt';
  }

  setAllowedTypes(allowed: Set<number>): void {
    this.allowed = allowed;
  }

  get streamOffset(): number {
    return this.offset;
  }

  /** Feeds bytes[offset, offset + length) of the stream. */
  push(b: Uint8Array, offset: number, length: number, frame: number, time: number): void {
    if (this.state === 'hunt') return this.huntPush(b.subarray(offset, offset + length), frame, time, false);
    this.consume(b, offset, offset + length, frame, time);
  }

  /** `length` bytes of the stream will never arrive; `snaplen`: they were cut by the snapshot length, not dropped. */
  gap(length: number, frame: number, time: number, snaplen = false): void {
    if (this.state === 'body' || (this.state === 'header' && this.hdrLen > 0)) this.noteLoss(snaplen ? 'snaplen' : 'not-captured', frame, time);
    // A header cut short still keeps the framing when its common header is there: the loss then falls inside that PDU.
    if (this.state === 'header' && this.hdrLen > 0) this.partialHeader(frame, time);
    if (this.state !== 'hunt') this.account.lost += length;
    if (this.state === 'body') {
      const rest = this.cur.plen - this.pos;
      if (length < rest) {
        // The loss lies inside this PDU's body: framing survives, the PDU is incomplete.
        this.lose(length);
        this.offset += length;
        return;
      }
      this.lose(rest);
      this.offset += rest;
      length -= rest;
      this.finishPdu(frame, time);
      if (length === 0) return; // the loss ended exactly at a boundary
    } else if (this.state === 'header' && this.hdrLen > 0) {
      this.callbacks.skipped('truncated-pdu', this.cur.streamOffset, this.hdrLen, frame, time,
        `lost ${length} bytes inside a PDU header; ${this.hdrLen} header bytes dropped`);
      this.account.skipped += this.hdrLen;
      this.hdrLen = 0;
    } else if (this.state === 'hunt') {
      this.huntPush(EMPTY, frame, time, true);
      if (this.state !== 'hunt') return this.gap(length, frame, time, snaplen);
      this.account.lost += length;
    }
    this.offset += length;
    this.enterHunt();
  }

  /** The stream ends: report what is left unfinished. */
  end(frame: number, time: number): void {
    // A final hunt may resynchronise and replay bytes that end in a new hunt: repeat until settled.
    for (;;) {
      if (this.state === 'hunt') {
        if (this.huntLen === 0) return;
        this.huntPush(EMPTY, frame, time, true);
        continue;
      }
      if (this.state === 'body') {
        const rest = this.cur.plen - this.pos;
        this.noteLoss('not-captured', frame, time);
        this.lose(rest);
        this.callbacks.skipped('truncated-pdu', this.cur.streamOffset, this.pos, frame, time,
          `stream ends ${rest} bytes before the end of a ${this.cur.plen}-byte PDU`);
        this.finishPdu(frame, time);
        return;
      }
      if (this.hdrLen === 0) return;
      if (this.partialHeader(frame, time)) continue;
      this.callbacks.skipped('truncated-pdu', this.cur.streamOffset, this.hdrLen, frame, time,
        `stream ends inside a PDU header (${this.hdrLen} of ${this.hdrNeed} bytes)`);
      this.account.skipped += this.hdrLen;
      this.hdrLen = 0;
      this.hdrNeed = 8;
      return;
    }
  }

  private consume(b: Uint8Array, start: number, end: number, frame: number, time: number): void {
    let p = start;
    while (p < end) {
      if (this.state === 'header') {
        if (this.hdrLen === 0) {
          this.cur.streamOffset = this.offset;
          this.cur.firstFrame = frame;
          this.cur.firstTime = time;
          this.cur.lossCause = undefined;
          // Fast path: the whole header lies in this chunk, parse it where it is.
          if (end - p >= 8) {
            const plen = frameableLength(b, p);
            if (plen !== null) {
              const need = headerLength(b, p, plen);
              if (end - p >= need) {
                this.account.pdu += need;
                this.offset += need;
                p += need;
                this.headerDone(b, p - need, need, frame, time);
                continue;
              }
            }
          }
        }
        p = this.collectHeader(b, p, end, frame, time);
        if (p < 0) return;
      } else if (this.state === 'body') {
        const take = Math.min(this.cur.plen - this.pos, end - p);
        this.account.pdu += take;
        this.body(b, p, take);
        this.offset += take;
        p += take;
        if (this.pos === this.cur.plen) this.finishPdu(frame, time);
      } else {
        return this.huntPush(b.subarray(p, end), frame, time, false);
      }
    }
  }

  /** A header arriving in pieces: gathered into `hdr`. Where the bytes go on from (-1: nothing more to do with this chunk). */
  private collectHeader(b: Uint8Array, p: number, end: number, frame: number, time: number): number {
    const take = Math.min(this.hdrNeed - this.hdrLen, end - p);
    if (this.hdr.length === 0) this.hdr = new Uint8Array(MAX_HEADER);
    for (let k = 0; k < take; k++) this.hdr[this.hdrLen + k] = b[p + k];
    this.hdrLen += take;
    this.offset += take;
    p += take;
    if (this.hdrLen < this.hdrNeed) return -1;
    if (this.hdrNeed === 8) {
      const plen = frameableLength(this.hdr, 0);
      if (plen === null) {
        // Not a header: hunt from here (the hunt starts its scan at these 8 bytes).
        this.offset -= 8;
        this.hdrLen = 0;
        this.enterHunt();
        this.huntPush(this.hdr.slice(0, 8), frame, time, false);
        if (p < end) this.push(b, p, end - p, frame, time);
        return -1;
      }
      this.hdrNeed = headerLength(this.hdr, 0, plen);
      if (this.hdrNeed > 8) return p;
    }
    const length = this.hdrNeed;
    this.account.pdu += length;
    this.hdrLen = 0;
    this.hdrNeed = 8;
    this.headerDone(this.hdr, 0, length, frame, time);
    return p;
  }

  /**
   * Bytes stop inside a header: when the common header is there, its length
   * keeps the framing; the PDU goes on with what was captured of its header.
   */
  private partialHeader(frame: number, time: number): boolean {
    const plen = this.hdrLen >= 8 ? frameableLength(this.hdr, 0) : null;
    if (plen === null) return false;
    const headerEnd = headerLength(this.hdr, 0, plen);
    const captured = this.hdrLen;
    this.account.pdu += captured;
    this.hdrLen = 0;
    this.hdrNeed = 8;
    this.headerDone(this.hdr, 0, headerEnd, frame, time, captured);
    return true;
  }

  private headerDone(h: Uint8Array, o: number, headerEnd: number, frame: number, time: number, captured = headerEnd): void {
    const c = this.cur;
    c.type = h[o];
    c.flags = h[o + 1];
    c.hlen = h[o + 2];
    c.pdo = h[o + 3];
    c.plen = u32le(h, o + 4);
    c.missing = 0;
    c.collected = 0;
    c.ddgstOk = undefined;
    const d = o + c.hlen;
    c.hdgstOk = hasHeaderDigest(c.type, c.flags) && headerEnd === c.hlen + 4 && captured === headerEnd
      ? crc32cUpdate(0, h, o, d) === u32le(h, d)
      : undefined;
    const dd = hasDataDigest(c.type, c.flags) ? 4 : 0;
    this.dataStart = c.pdo > headerEnd ? c.pdo : headerEnd;
    this.dataEnd = Math.max(this.dataStart, c.plen - dd);
    this.pos = captured;
    this.plan = this.callbacks.header(h, o, captured, c);
    this.crc = 0;
    this.ddgstLen = 0;
    if (this.pos >= c.plen) return this.finishPdu(frame, time);
    this.state = 'body';
  }

  private body(b: Uint8Array, p: number, n: number): void {
    const from = this.pos;
    const to = from + n;
    const ds = Math.max(from, this.dataStart);
    const de = Math.min(to, this.dataEnd);
    if (de > ds) {
      const plan = this.plan;
      if (plan.verifyDigest) this.crc = crc32cUpdate(this.crc, b, p + ds - from, p + de - from);
      if (plan.collect) {
        const at = (plan.collectBase ?? 0) + ds - this.dataStart;
        const room = plan.collect.length - at;
        if (room > 0 && at >= 0) {
          const count = Math.min(room, de - ds);
          plan.collect.set(b.subarray(p + ds - from, p + ds - from + count), at);
          this.cur.collected += count;
        }
      }
    }
    // Data digest bytes trail the data.
    for (let k = Math.max(from, this.dataEnd); k < to && this.ddgstLen < 4; k++) {
      if (this.cur.plen - 4 <= k) {
        if (this.ddgst.length === 0) this.ddgst = new Uint8Array(4);
        this.ddgst[this.ddgstLen++] = b[p + k - from];
      }
    }
    this.pos = to;
  }

  /** Remembers the first loss inside the current PDU: its cause decides where tools show the PDU. */
  private noteLoss(cause: 'snaplen' | 'not-captured', frame: number, time: number): void {
    if (this.cur.lossCause !== undefined) return;
    this.cur.lossCause = cause;
    this.cur.lossFrame = frame;
    this.cur.lossTime = time;
  }

  private lose(n: number): void {
    if (n <= 0) return;
    this.cur.missing += n;
    this.pos += n;
  }

  private finishPdu(frame: number, time: number): void {
    const c = this.cur;
    if (hasDataDigest(c.type, c.flags) && this.plan.verifyDigest && c.missing === 0 && this.ddgstLen === 4) {
      const want = u32le(this.ddgst, 0);
      c.ddgstOk = this.crc === want;
    }
    this.state = 'header';
    this.callbacks.complete(c, frame, time);
  }

  // ---- hunting for a boundary ----

  private enterHunt(): void {
    this.state = 'hunt';
    this.resetHunt();
    this.huntOffset = this.offset;
  }

  private resetHunt(): void {
    this.huntLen = 0;
    this.huntScan = 0;
    this.huntFrames = NO_RUNS;
    this.huntTimes = NO_RUNS;
    this.huntStarts = NO_RUNS;
    this.huntOffset = this.offset;
  }

  private huntPush(b: Uint8Array, frame: number, time: number, final: boolean): void {
    if (this.huntLen === 0) this.huntOffset = this.offset;
    if (b.length > 0) {
      this.appendHunt(b, frame, time);
      this.offset += b.length;
    }
    const found = this.findBoundary(final || this.huntLen >= HUNT_LIMIT);
    if (typeof found === 'number') return this.resync(found, time);
    // Bytes before the scan position can never start a PDU: let them go (in batches).
    if (this.huntScan > 0 && (final || found === 'none' || this.huntScan >= 65536)) {
      this.dropHunt(this.huntScan, frame, time);
    }
  }

  private appendHunt(b: Uint8Array, frame: number, time: number): void {
    const need = this.huntLen + b.length;
    if (need > this.hunt.length) {
      const grown = new Uint8Array(Math.max(need, this.hunt.length * 2, 4096));
      grown.set(this.hunt.subarray(0, this.huntLen));
      this.hunt = grown;
    }
    this.hunt.set(b, this.huntLen);
    if (this.huntStarts === NO_RUNS) {
      this.huntStarts = [];
      this.huntFrames = [];
      this.huntTimes = [];
    }
    this.huntStarts.push(this.huntLen);
    this.huntFrames.push(frame);
    this.huntTimes.push(time);
    this.huntLen = need;
  }

  /**
   * Offset in the hunt buffer of a confirmed boundary, 'wait' for more bytes,
   * or 'none'. A boundary is confirmed by CONFIRMATIONS consecutive plausible
   * headers, or by one plausible header at the start of a segment whose chain
   * runs past the bytes we have: senders start PDUs at segment starts, and
   * waiting for three PDUs on a quiet admin queue would hold events back.
   */
  private findBoundary(final: boolean): number | 'wait' | 'none' {
    const b = this.hunt;
    const n = this.huntLen;
    let piece = 0;
    for (let i = this.huntScan; i < n; i++) {
      if (!this.allowed.has(b[i])) continue;
      while (piece + 1 < this.huntStarts.length && this.huntStarts[piece + 1] <= i) piece++;
      const atSegmentStart = this.huntStarts[piece] === i;
      let at = i;
      let confirmed = 0;
      let verdict: 'yes' | 'no' | 'wait' = 'wait';
      while (confirmed < CONFIRMATIONS) {
        const avail = n - at;
        if (avail === 0 && confirmed > 0) {
          verdict = final || atSegmentStart ? 'yes' : 'wait';
          break;
        }
        if (avail < 24) {
          verdict = final ? (confirmed > 0 ? 'yes' : 'no') : confirmed > 0 && atSegmentStart && avail < 8 ? 'yes' : 'wait';
          break;
        }
        if (!isPlausibleHeader(b, at, avail, this.allowed)) {
          verdict = 'no';
          break;
        }
        confirmed++;
        at += u32le(b, at + 4);
        if (at > n) {
          verdict = final || atSegmentStart ? 'yes' : 'wait';
          break;
        }
      }
      if (confirmed >= CONFIRMATIONS) verdict = 'yes';
      if (verdict === 'yes') return i;
      if (verdict === 'wait') {
        this.huntScan = i;
        return 'wait';
      }
    }
    this.huntScan = n;
    return 'none';
  }

  private resync(at: number, time: number): void {
    if (at > 0) {
      this.callbacks.skipped('resync', this.huntOffset, at, this.frameAt(at), time,
        `skipped ${at} bytes to the next PDU boundary`);
      this.account.skipped += at;
    }
    const buffered = this.hunt;
    const n = this.huntLen;
    const starts = this.huntStarts;
    const frames = this.huntFrames;
    const times = this.huntTimes;
    const base = this.huntOffset + at;
    this.hunt = EMPTY;
    this.resetHunt();
    this.state = 'header';
    this.hdrLen = 0;
    this.hdrNeed = 8;
    this.offset = base;
    for (let k = 0; k < starts.length; k++) {
      const s = Math.max(starts[k], at);
      const e = k + 1 < starts.length ? starts[k + 1] : n;
      if (e <= s) continue;
      if ((this.state as State) === 'hunt') this.huntPush(buffered.subarray(s, e), frames[k], times[k], false);
      else this.consume(buffered, s, e, frames[k], times[k]);
    }
  }

  private frameAt(at: number): number {
    let k = 0;
    while (k + 1 < this.huntStarts.length && this.huntStarts[k + 1] <= at) k++;
    return this.huntFrames[k] ?? 0;
  }

  private dropHunt(upTo: number, frame: number, time: number): void {
    const drop = Math.min(upTo, this.huntLen);
    this.callbacks.skipped('garbage', this.huntOffset, drop, frame, time, `${drop} bytes hold no NVMe/TCP PDU`);
    this.account.skipped += drop;
    const rest = this.huntLen - drop;
    this.hunt.copyWithin(0, drop, this.huntLen);
    // Keep frame runs that still have bytes.
    const starts: number[] = [];
    const frames: number[] = [];
    const times: number[] = [];
    for (let k = 0; k < this.huntStarts.length; k++) {
      const e = k + 1 < this.huntStarts.length ? this.huntStarts[k + 1] : this.huntLen;
      if (e <= drop) continue;
      starts.push(Math.max(0, this.huntStarts[k] - drop));
      frames.push(this.huntFrames[k]);
      times.push(this.huntTimes[k]);
    }
    this.huntStarts = starts;
    this.huntFrames = frames;
    this.huntTimes = times;
    this.huntLen = rest;
    this.huntOffset += drop;
    this.huntScan = 0;
  }
}
