/**
 * One TCP connection's TLS 1.3 record stream, both directions: records framed across segments,
 * opened with the secrets the key log holds for its ClientHello, and the application bytes handed on
 * in order. A lost segment loses the records it touched (a record is authenticated whole); the next
 * record is found again by trial: a header, then the sequence number its authentication confirms.
 */
import { u16be } from '../common/bytes.js';
import type { GapCause, Side } from '../reassembly/types.js';
import { clientRandom, HandshakeReader, HandshakeType, parseServerHello, versionName, type ServerHello } from './handshake.js';
import { CIPHER_SUITES, trafficKeys, updatedKeys, type TrafficKeys } from './key-schedule.js';
import type { TlsKeyLog } from './keylog.js';
import { ContentType, MAX_CIPHERTEXT, openRecord, RECORD_HEADER, type OpenedRecord } from './record-protection.js';
import type { TlsDecryption, TlsOutput, TlsStatus } from './types.js';
import { alertName, Direction, plausibleHeader, type Resync } from './direction.js';

/**
 * Encrypted handshake records passed over (no handshake secret) before the traffic secret is declared
 * wrong: a TLS 1.3 handshake flight is a few records (EncryptedExtensions to Finished, a certificate
 * chain in more); at the end of a stream, more than HANDSHAKE_RECORDS_AT_END without one opening is too.
 */
const HANDSHAKE_RECORD_LIMIT = 8;
const HANDSHAKE_RECORDS_AT_END = 4;
/** Sequence numbers tried for a candidate record after a loss, nearest the estimate first. */
const RESYNC_TRIALS = 256;
/** Bytes held while looking for the next record after a loss: two of the largest records. */
const RESYNC_BUFFER = 2 * (RECORD_HEADER + MAX_CIPHERTEXT);

export const NO_KEYLOG_REASON = 'TLS 1.3, not decrypted: give --tls-keylog FILE (the SSLKEYLOGFILE of tlshd on the host or the target)';

export class TlsSession {
  readonly status: TlsStatus;
  private readonly dirs: [Direction, Direction];

  constructor(
    private readonly out: TlsOutput,
    private readonly keyLog: TlsKeyLog | undefined,
    frame: number,
    time: number,
  ) {
    this.status = {
      clientSide: undefined, firstFrame: frame, firstTime: time, version: null, cipher: null, clientRandom: null,
      decryption: keyLog ? 'no-handshake' : 'no-keylog', reason: keyLog ? 'the capture holds no ServerHello for this connection' : NO_KEYLOG_REASON,
      records: 0, plaintextBytes: 0, undecryptedBytes: 0, handshakeRecords: 0, keyUpdates: 0, alerts: [], resyncs: 0,
    };
    this.dirs = [this.direction(0), this.direction(1)];
  }

  private direction(side: Side): Direction {
    const d: Direction = new Direction(new HandshakeReader((type, body) => this.handshakeMessage(side, d, type, body)));
    return d;
  }

  /** Ciphertext bytes[offset, offset + length) of `side`'s stream. */
  push(side: Side, b: Uint8Array, offset: number, length: number, frame: number, time: number): void {
    const d = this.dirs[side];
    if (d.unframed) {
      d.offset += length;
      this.status.undecryptedBytes += length;
      return;
    }
    if (d.resync) return this.resyncPush(side, d, b, offset, length, frame, time);
    let p = offset;
    const end = offset + length;
    while (p < end) {
      if (d.skip > 0) {
        const n = Math.min(d.skip, end - p);
        d.skip -= n;
        d.offset += n;
        this.status.undecryptedBytes += n;
        p += n;
        continue;
      }
      if (d.hdrLen < RECORD_HEADER) {
        const before = d.hdrLen;
        while (d.hdrLen < RECORD_HEADER && p < end) d.hdr[d.hdrLen++] = b[p++];
        d.offset += d.hdrLen - before;
        if (d.hdrLen < RECORD_HEADER) return;
        if (!plausibleHeader(d.hdr)) {
          this.lostFraming(side, d, frame, time);
          return this.push(side, b, p, end - p, frame, time);
        }
      }
      const recordLength = u16be(d.hdr, 3);
      if (p === end) return;
      if (d.bodyLen === 0 && end - p >= recordLength) {
        d.offset += recordLength;
        d.hdrLen = 0;
        this.record(side, d, b, p, recordLength, frame, time);
        p += recordLength;
        continue;
      }
      d.body ??= new Uint8Array(recordLength);
      const n = Math.min(recordLength - d.bodyLen, end - p);
      d.body.set(b.subarray(p, p + n), d.bodyLen);
      d.bodyLen += n;
      d.offset += n;
      p += n;
      if (d.bodyLen === recordLength) {
        const body = d.body;
        d.body = undefined;
        d.bodyLen = 0;
        d.hdrLen = 0;
        this.record(side, d, body, 0, recordLength, frame, time);
      }
    }
  }

  /** `length` bytes of `side`'s stream were never captured. */
  gap(side: Side, length: number, frame: number, time: number, cause: GapCause): void {
    const d = this.dirs[side];
    const startOffset = d.offset;
    d.offset += length;
    if (d.unframed) return;
    if (d.resync) {
      d.resync.lostBefore += length;
      return;
    }
    if (d.skip > 0) {
      if (length < d.skip) {
        d.skip -= length;
        return;
      }
      length -= d.skip;
      d.skip = 0;
      if (length === 0) return;
    }
    if (!this.decrypting(d)) {
      this.status.undecryptedBytes += d.hdrLen + d.bodyLen;
      d.unframed = true;
      if (d.phase === 'clear' && this.status.decryption !== 'no-keylog') this.decide('no-handshake', 'bytes of the TLS handshake were not captured: the secrets and cipher cannot be chosen');
      return;
    }
    const recordLength = u16be(d.hdr, 3);
    if (d.hdrLen === RECORD_HEADER && length < recordLength - d.bodyLen) {
      // The loss lies inside one record: its end is known, only that record is lost.
      this.status.undecryptedBytes += RECORD_HEADER + d.bodyLen;
      d.skip = recordLength - d.bodyLen - length;
      const captured = RECORD_HEADER + d.bodyLen;
      d.body = undefined;
      d.bodyLen = 0;
      d.hdrLen = 0;
      d.seq++;
      if (d.phase === 'application') this.out.lost(side, this.contentOf(d, recordLength), frame, time, cause);
      this.out.problem(side, frame, time, startOffset - captured, captured,
        `a ${RECORD_HEADER + recordLength}-byte TLS record lost ${length} bytes: its ${captured} captured bytes before the loss and the rest after it cannot be decrypted (a record is authenticated whole)`);
      return;
    }
    const captured = d.hdrLen + d.bodyLen;
    d.resync = {
      buf: new Uint8Array(0), len: 0, bufOffset: d.offset, scan: 0, lostBefore: captured + length, captured,
      seqBase: d.seq, frame, time, cause, startOffset: startOffset - captured,
    };
    d.body = undefined;
    d.bodyLen = 0;
    d.hdrLen = 0;
  }

  /** The side's stream is over: a record cut short or a search still open is reported. */
  end(side: Side, frame: number, time: number): void {
    const d = this.dirs[side];
    const r = d.resync;
    if (r) {
      d.resync = undefined;
      const lost = r.lostBefore + r.len;
      const records = Math.max(1, Math.round(lost / this.averageRecord(d)));
      if (d.phase === 'application') this.out.lost(side, Math.max(0, lost - records * this.overhead(d)), r.frame, r.time, r.cause);
      this.status.undecryptedBytes += r.captured + r.len;
      this.out.problem(side, r.frame, r.time, r.startOffset, r.captured + r.len,
        `the TLS record stream was not found again after the loss: ${r.captured + r.len} captured bytes up to the end of the stream cannot be decrypted`);
    } else if (d.hdrLen > 0 && !d.unframed) {
      const captured = d.hdrLen + d.bodyLen;
      this.status.undecryptedBytes += captured;
      const recordLength = d.hdrLen === RECORD_HEADER ? u16be(d.hdr, 3) : undefined;
      const whole = recordLength === undefined ? '' : ` of ${RECORD_HEADER + recordLength}`;
      this.out.problem(side, frame, time, d.offset - captured, captured, `the stream ends inside a TLS record (${captured}${whole} bytes): not decrypted`);
      if (d.phase === 'application' && recordLength !== undefined) this.out.lost(side, this.contentOf(d, recordLength), frame, time, 'not-captured');
    }
    d.hdrLen = 0;
    d.body = undefined;
    d.bodyLen = 0;
    if (d.phase === 'handshake' && !d.keys && d.passedOver > HANDSHAKE_RECORDS_AT_END) {
      this.fail(side, d, frame, time, 0, `none of ${d.passedOver} records authenticated with the logged traffic secret`);
    }
  }

  /**
   * `side`'s stream acknowledged up to ciphertext offset `cipherAcked` → the plaintext offset up to
   * which whole records were acknowledged (a receiver can use a record only once it has all of it).
   */
  plainAcked(side: Side, cipherAcked: number): number {
    return this.dirs[side].acked(cipherAcked);
  }


  private decrypting(d: Direction): boolean {
    return d.phase === 'handshake' || d.phase === 'application';
  }

  /** Per-record bytes that are not content: header, inner content type, tag (no padding assumed). */
  private overhead(d: Direction): number {
    return RECORD_HEADER + 1 + (d.keys ?? d.nextKeys)!.suite.tagLength;
  }

  /** The application bytes a record of `recordLength` (after its header) holds. */
  private contentOf(d: Direction, recordLength: number): number {
    return Math.max(0, recordLength + RECORD_HEADER - this.overhead(d));
  }

  private averageRecord(d: Direction): number {
    return d.appRecords > 0 ? d.appRecordBytes / d.appRecords : RECORD_HEADER + MAX_CIPHERTEXT;
  }

  /** A whole record: header in d.hdr, body at b[o, o + length). */
  private record(side: Side, d: Direction, b: Uint8Array, o: number, length: number, frame: number, time: number): void {
    switch (d.hdr[0]) {
      case ContentType.ChangeCipherSpec:
        return; // middlebox compatibility (RFC 8446 §D.4): no content
      case ContentType.Alert:
        if (length >= 2) this.alert(side, d, b[o + 1]);
        return;
      case ContentType.Handshake:
        d.handshake.push(b, o, length);
        return;
      default:
        this.protectedRecord(side, d, b, o, length, frame, time);
    }
  }

  private protectedRecord(side: Side, d: Direction, b: Uint8Array, o: number, length: number, frame: number, time: number): void {
    if (!this.decrypting(d)) {
      this.status.undecryptedBytes += RECORD_HEADER + length;
      return;
    }
    if (d.phase === 'application') {
      const opened = d.keys && openRecord(d.keys, d.seq, d.hdr, b, o, length);
      if (!opened) {
        this.status.undecryptedBytes += RECORD_HEADER + length;
        return this.fail(side, d, frame, time, RECORD_HEADER + length, `record ${d.seq} did not authenticate with the logged traffic secret`);
      }
      d.seq++;
      d.appRecords++;
      d.appRecordBytes += RECORD_HEADER + length;
      return this.opened(side, d, opened, frame, time);
    }
    // Handshake: under the handshake secret when logged, until Finished; the first record that opens
    // under the traffic secret at sequence 0 ends it too (the handshake secret may be missing).
    const handshake = d.keys && openRecord(d.keys, d.seq, d.hdr, b, o, length);
    if (handshake) {
      d.seq++;
      this.status.handshakeRecords++;
      this.opened(side, d, handshake, frame, time);
      if (d.finished) this.startApplication(d, 0);
      return;
    }
    const application = d.nextKeys && openRecord(d.nextKeys, 0, d.hdr, b, o, length);
    if (application) {
      this.startApplication(d, 1);
      d.appRecords++;
      d.appRecordBytes += RECORD_HEADER + length;
      return this.opened(side, d, application, frame, time);
    }
    this.status.handshakeRecords++;
    d.seq++;
    if (d.keys) return this.fail(side, d, frame, time, RECORD_HEADER + length, 'a handshake record did not authenticate with the logged handshake secret');
    if (++d.passedOver > HANDSHAKE_RECORD_LIMIT) this.fail(side, d, frame, time, RECORD_HEADER + length, `none of ${d.passedOver} records authenticated with the logged traffic secret`);
  }

  private startApplication(d: Direction, seq: number): void {
    d.keys = d.nextKeys;
    d.nextKeys = undefined;
    d.seq = seq;
    d.finished = false;
    d.phase = d.keys ? 'application' : 'idle';
  }

  private opened(side: Side, d: Direction, r: OpenedRecord, frame: number, time: number): void {
    this.status.records++;
    if (r.type === ContentType.ApplicationData) {
      this.status.plaintextBytes += r.length;
      d.plainOffset += r.length;
      d.recordEnded();
      this.out.plaintext(side, r.plaintext, 0, r.length, frame, time);
    } else if (r.type === ContentType.Handshake) {
      d.handshake.push(r.plaintext, 0, r.length);
      if (d.keyUpdate && d.phase === 'application' && d.keys) {
        d.keyUpdate = false;
        d.keys = updatedKeys(d.keys);
        d.seq = 0;
        this.status.keyUpdates++;
      }
    } else if (r.type === ContentType.Alert && r.length >= 2) {
      this.alert(side, d, r.plaintext[1]);
    }
  }

  /** An alert in the clear before the ServerHello ends the handshake there: said, whatever the key log. */
  private alert(side: Side, d: Direction, description: number): void {
    const name = alertName(description);
    this.status.alerts.push(name);
    if (d.phase !== 'clear' || description === 0 || this.status.version !== null) return;
    const who = this.status.clientSide === undefined ? `side ${side}` : side === this.status.clientSide ? 'the host' : 'the controller';
    this.decide('handshake-failed', `the TLS handshake failed: ${who} sent the alert ${name} before any ServerHello; NVMe/TCP never ran on this connection`);
  }

  private handshakeMessage(side: Side, d: Direction, type: number, body: Uint8Array): void {
    if (type === HandshakeType.ClientHello) {
      if (this.status.clientRandom !== null) return; // the second ClientHello after a HelloRetryRequest keeps the random
      const random = clientRandom(body);
      if (!random) return;
      this.status.clientSide = side;
      this.status.clientRandom = Buffer.from(random).toString('hex');
    } else if (type === HandshakeType.ServerHello) {
      const hello = parseServerHello(body);
      if (hello && !hello.helloRetry) this.serverHello(side, hello);
    } else if (type === HandshakeType.Finished) {
      d.finished = true;
    } else if (type === HandshakeType.KeyUpdate) {
      d.keyUpdate = true;
    }
  }

  private serverHello(serverSide: Side, hello: ServerHello): void {
    const s = this.status;
    const clientSide = (serverSide ^ 1) as Side;
    s.clientSide = clientSide;
    s.version = versionName(hello.version);
    const suite = CIPHER_SUITES.get(hello.cipherSuite);
    s.cipher = suite?.name ?? `0x${hello.cipherSuite.toString(16).padStart(4, '0')}`;
    const idle = () => {
      this.dirs[0].phase = 'idle';
      this.dirs[1].phase = 'idle';
    };
    if (hello.version !== 0x0304) return (idle(), this.decide('unsupported', `${s.version} is not decrypted: NVMe/TCP secure channels (TP 8011) use TLS 1.3`));
    if (!suite) return (idle(), this.decide('unsupported', `cipher suite ${s.cipher} is not a TLS 1.3 suite`));
    if (!this.keyLog) return (idle(), this.decide('no-keylog', NO_KEYLOG_REASON));
    if (s.clientRandom === null) return (idle(), this.decide('no-handshake', 'the ClientHello was not captured: without its random no secret can be chosen'));
    const secrets = this.keyLog.secrets(Buffer.from(s.clientRandom, 'hex'));
    if (!secrets || (!secrets.client0 && !secrets.server0)) {
      idle();
      return this.decide('no-secret', `the key log holds no traffic secret for this connection (ClientHello random ${s.clientRandom.slice(0, 16)}…): TLS 1.3, not decrypted`);
    }
    const key = (secret: Uint8Array | undefined) => (secret ? trafficKeys(suite, secret) : undefined);
    const pairs: [Direction, TrafficKeys | undefined, TrafficKeys | undefined][] = [
      [this.dirs[clientSide], key(secrets.clientHandshake), key(secrets.client0)],
      [this.dirs[serverSide], key(secrets.serverHandshake), key(secrets.server0)],
    ];
    for (const [d, handshake, traffic] of pairs) {
      d.keys = handshake;
      d.nextKeys = traffic;
      d.seq = 0;
      d.phase = traffic ? 'handshake' : 'idle';
    }
    const missing = !secrets.client0 ? 'CLIENT_TRAFFIC_SECRET_0 (host to controller)' : !secrets.server0 ? 'SERVER_TRAFFIC_SECRET_0 (controller to host)' : undefined;
    this.decide('decrypted', missing ? `the key log has no ${missing}: that direction is not decrypted` : null);
  }

  private decide(decryption: TlsDecryption, reason: string | null): void {
    this.status.decryption = decryption;
    this.status.reason = reason;
  }

  /** `recordBytes`: the failing record's size, header included (it ends at the current offset). */
  private fail(side: Side, d: Direction, frame: number, time: number, recordBytes: number, why: string): void {
    d.phase = 'dead';
    if (this.status.decryption === 'decrypted') {
      this.decide('auth-failed', `${why} (frame ${frame}): the key log's secret does not match this connection, or its bytes were damaged; the rest of this direction is not decrypted`);
    }
    this.out.problem(side, frame, time, d.offset - recordBytes, recordBytes, `TLS: ${why}; not decrypted from here on`);
  }

  /** Bytes that are no TLS record header where one must start: find the record stream again. */
  private lostFraming(side: Side, d: Direction, frame: number, time: number): void {
    const start = d.offset - RECORD_HEADER;
    if (!this.decrypting(d)) {
      d.unframed = true;
      d.hdrLen = 0;
      this.status.undecryptedBytes += RECORD_HEADER;
      this.out.problem(side, frame, time, start, RECORD_HEADER, 'bytes that are not a TLS record where one must start: the rest of this direction is counted, not decoded');
      return;
    }
    d.resync = {
      buf: new Uint8Array(0), len: 0, bufOffset: d.offset - RECORD_HEADER, scan: 1, lostBefore: 0, captured: 0,
      seqBase: d.seq, frame, time, cause: 'not-captured', startOffset: start,
    };
    d.hdrLen = 0;
    this.resyncAppend(d.resync, d.hdr, 0, RECORD_HEADER);
  }

  private resyncAppend(r: Resync, b: Uint8Array, o: number, length: number): void {
    if (r.buf.length < r.len + length) {
      const grown = new Uint8Array(Math.max(r.len + length, Math.min(RESYNC_BUFFER + (1 << 16), 2 * r.buf.length + length)));
      grown.set(r.buf.subarray(0, r.len));
      r.buf = grown;
    }
    r.buf.set(b.subarray(o, o + length), r.len);
    r.len += length;
  }

  private resyncPush(side: Side, d: Direction, b: Uint8Array, offset: number, length: number, frame: number, time: number): void {
    const r = d.resync!;
    this.resyncAppend(r, b, offset, length);
    d.offset += length;
    for (;;) {
      const i = this.nextCandidate(r);
      if (i < 0 || i + RECORD_HEADER > r.len) return this.trimResync(r, i < 0 ? Math.max(0, r.len - RECORD_HEADER + 1) : i);
      const recordLength = u16be(r.buf, i + 3);
      if (i + RECORD_HEADER + recordLength > r.len) return this.trimResync(r, i);
      const found = this.trial(d, r, i, recordLength);
      if (found) return this.resynchronised(side, d, r, i, recordLength, found, frame, time);
      r.scan = i + 1;
    }
  }

  private nextCandidate(r: Resync): number {
    const b = r.buf;
    for (let i = r.scan; i + 3 <= r.len; i++) {
      if (b[i] === ContentType.ApplicationData && b[i + 1] === 3 && b[i + 2] === 3) {
        if (i + RECORD_HEADER > r.len) return i;
        const length = u16be(b, i + 3);
        if (length > 0 && length <= MAX_CIPHERTEXT) return i;
      }
    }
    return -1;
  }

  /** Keeps the buffer within bounds: bytes before `keepFrom` that no longer fit are given up. */
  private trimResync(r: Resync, keepFrom: number): void {
    r.scan = keepFrom;
    if (r.len <= RESYNC_BUFFER) return;
    const drop = Math.min(keepFrom, r.len - RECORD_HEADER - MAX_CIPHERTEXT);
    if (drop <= 0) return;
    r.buf.copyWithin(0, drop, r.len);
    r.len -= drop;
    r.scan -= drop;
    r.bufOffset += drop;
    r.lostBefore += drop;
    r.captured += drop;
  }

  /**
   * The keys and sequence number under which the candidate record at buf[i] authenticates. The bytes
   * lost since the last whole record are exactly the records skipped, each 1 + tag + header bytes at
   * least and a full record at most: the count tried first is the smallest possible (bulk transfers
   * fill their records), then those near the direction's average record size.
   */
  private trial(d: Direction, r: Resync, i: number, length: number): { opened: OpenedRecord; seq: number; keys: TrafficKeys; records: number } | undefined {
    const header = r.buf.subarray(i, i + RECORD_HEADER);
    const lost = r.lostBefore + i;
    const fewest = Math.ceil(lost / (RECORD_HEADER + MAX_CIPHERTEXT));
    const most = Math.floor(lost / this.overhead(d));
    const counts = new Set<number>();
    for (let k = fewest; k <= Math.min(most, fewest + 15); k++) counts.add(k);
    const estimate = Math.round(lost / this.averageRecord(d));
    for (let delta = 0; counts.size < RESYNC_TRIALS && (estimate - delta >= fewest || estimate + delta <= most); delta++) {
      for (const k of [estimate + delta, estimate - delta]) if (k >= fewest && k <= most) counts.add(k);
    }
    const options: [TrafficKeys | undefined, number][] = [[d.keys, r.seqBase], [d.phase === 'handshake' ? d.nextKeys : undefined, 0]];
    for (const [keys, base] of options) {
      if (!keys) continue;
      for (const k of counts) {
        const opened = openRecord(keys, base + k, header, r.buf, i + RECORD_HEADER, length);
        if (opened) return { opened, seq: base + k, keys, records: k };
      }
    }
    return undefined;
  }

  private resynchronised(side: Side, d: Direction, r: Resync, i: number, length: number,
    found: { opened: OpenedRecord; seq: number; keys: TrafficKeys; records: number }, frame: number, time: number): void {
    d.resync = undefined;
    const lostCipher = r.lostBefore + i;
    const captured = r.captured + i;
    this.status.undecryptedBytes += captured;
    this.status.resyncs++;
    if (d.phase === 'application' || found.keys !== d.keys) {
      this.out.lost(side, Math.max(0, lostCipher - found.records * this.overhead(d)), r.frame, r.time, r.cause);
    }
    this.out.problem(side, r.frame, r.time, r.startOffset, captured,
      `TLS records lost with ${lostCipher - captured} bytes not captured: ${found.records} record(s) skipped, ${captured} captured bytes around the loss not decrypted; the record stream was found again at record ${found.seq}`);
    if (found.keys !== d.keys) this.startApplication(d, 0);
    d.seq = found.seq + 1;
    d.hdr.set(r.buf.subarray(i, i + RECORD_HEADER));
    const end = i + RECORD_HEADER + length;
    const rest = r.len - end;
    d.offset -= rest;
    if (d.phase === 'application') {
      d.appRecords++;
      d.appRecordBytes += RECORD_HEADER + length;
    }
    this.opened(side, d, found.opened, frame, time);
    if (rest > 0) this.push(side, r.buf, end, rest, frame, time);
  }
}
