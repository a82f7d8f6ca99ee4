/** The PDU record's shape and the byte tests that decide what a stream starts with: the decoder's small pieces. */
import { PDU_FORMATS } from './pdu-formats.js';
import type { FramedPdu } from './pdu-framer.js';
import { PduType, type Direction, type PduRecord } from './types.js';

/**
 * A TLS record header where a stream starts: a handshake record holding a ClientHello or ServerHello,
 * or protected data (a capture that began after the handshake). Content types 22 and 23 are no PDU type.
 */
export function looksLikeTlsRecord(b: Uint8Array, o: number, length: number): boolean {
  if (length < 5 || b[o + 1] !== 0x03 || b[o + 2] > 0x04) return false;
  if (b[o] === 0x16) return length >= 6 && (b[o + 5] === 0x01 || b[o + 5] === 0x02);
  return b[o] === 0x17 && b[o + 2] === 0x03;
}

/** An ICReq at b[o]: type 0, hlen 128, plen 128. */
export function looksLikeICReq(b: Uint8Array, o: number): boolean {
  return b.length - o >= 8 && b[o] === PduType.ICReq && b[o + 2] === 128 && b[o + 3] === 0 &&
    b[o + 4] === 128 && b[o + 5] === 0 && b[o + 6] === 0 && b[o + 7] === 0;
}


/** Every field present from the start: one object shape for all PDUs keeps later stages' property access fast. */
export function blankEvent(): PduRecord {
  return {
    conn: 0, dir: 'h2c', type: 0, typeName: 'unknown', flags: 0, hlen: 0, pdo: 0, plen: 0, frame: 0, time: 0, firstFrame: 0,
    streamOffset: 0, qid: undefined, cid: undefined, sqe: undefined, cqe: undefined, data: undefined, r2t: undefined,
    icreq: undefined, icresp: undefined, term: undefined, inCapsuleLength: undefined, connectData: undefined, identify: undefined,
    hdgstOk: undefined, ddgstOk: undefined, violation: undefined, incomplete: undefined, missingCause: undefined, headerCaptured: undefined,
  };
}

/** Sets every field of `e` for the PDU whose header `f` framed: a reused event keeps nothing of the last PDU. */
export function startEvent(e: PduRecord, conn: number, dir: Direction, f: FramedPdu, qid: number | undefined): void {
  e.conn = conn;
  e.dir = dir;
  e.type = f.type;
  e.typeName = PDU_FORMATS[f.type]?.name ?? 'unknown';
  e.flags = f.flags;
  e.hlen = f.hlen;
  e.pdo = f.pdo;
  e.plen = f.plen;
  e.frame = 0;
  e.time = 0;
  e.firstFrame = f.firstFrame;
  e.streamOffset = f.streamOffset;
  e.qid = qid;
  e.cid = e.inCapsuleLength = e.headerCaptured = undefined;
  e.sqe = undefined;
  e.cqe = undefined;
  e.data = undefined;
  e.r2t = undefined;
  e.icreq = undefined;
  e.icresp = undefined;
  e.term = undefined;
  e.connectData = undefined;
  e.identify = undefined;
  e.hdgstOk = e.ddgstOk = e.incomplete = undefined;
  e.violation = undefined;
  e.missingCause = undefined;
}
