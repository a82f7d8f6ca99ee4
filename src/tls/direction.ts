/** One direction of a TLS connection: its phase, keys, sequence number, the record being framed, the search after a loss. */
import { u16be } from '../common/bytes.js';
import type { GapCause } from '../reassembly/types.js';
import { ALERT_NAMES, type HandshakeReader } from './handshake.js';
import type { TrafficKeys } from './key-schedule.js';
import { ContentType, MAX_CIPHERTEXT, RECORD_HEADER } from './record-protection.js';

/** Record ends kept per direction for translating acknowledgements; older ones are dropped when nothing acknowledges. */
const ACK_MAP_LIMIT = 4096;

/**
 * - `clear`: before the ServerHello: handshake records in the clear;
 * - `handshake`: records under the handshake secret (or passed over without it) until Finished;
 * - `application`: records under the traffic secret;
 * - `idle`: not decrypted (no key, unsupported): records framed and counted only;
 * - `dead`: a record failed to authenticate: the rest is counted only.
 */
export type Phase = 'clear' | 'handshake' | 'application' | 'idle' | 'dead';

export interface Resync {
  buf: Uint8Array;
  len: number;
  /** Stream offset of buf[0]. */
  bufOffset: number;
  /** Candidate records before this index were ruled out. */
  scan: number;
  /** Ciphertext bytes since the last whole record, before buf: the cut record's captured part and the gaps. */
  lostBefore: number;
  /** Of those and of the bytes dropped from buf, the ones that were captured. */
  captured: number;
  seqBase: number;
  frame: number;
  time: number;
  cause: GapCause;
  startOffset: number;
}

export class Direction {
  phase: Phase = 'clear';
  keys: TrafficKeys | undefined;
  /** The traffic keys waiting for the end of the handshake. */
  nextKeys: TrafficKeys | undefined;
  seq = 0;
  readonly hdr = new Uint8Array(RECORD_HEADER);
  hdrLen = 0;
  body: Uint8Array | undefined;
  bodyLen = 0;
  /** Bytes still to pass over of a record damaged by a loss. */
  skip = 0;
  /** Ciphertext stream offset of the next byte. */
  offset = 0;
  plainOffset = 0;
  finished = false;
  keyUpdate = false;
  passedOver = 0;
  /** Framing lost while not decrypting: every later byte is only counted. */
  unframed = false;
  resync: Resync | undefined;
  appRecords = 0;
  appRecordBytes = 0;
  /** Pairs (ciphertext end, plaintext end) of opened records not yet acknowledged. */
  private readonly ackMap: number[] = [];
  private ackHead = 0;
  private plainAcked = -1;
  constructor(readonly handshake: HandshakeReader) {}

  /** A record of application data ended at ciphertext `offset`, plaintext `plainOffset`. */
  recordEnded(): void {
    this.ackMap.push(this.offset, this.plainOffset);
    // Nothing acknowledges (a one-way capture): the oldest ends go.
    if (this.ackMap.length - this.ackHead > 2 * ACK_MAP_LIMIT) this.ackHead += 2;
  }

  /** Acknowledged up to ciphertext `cipherAcked` → the plaintext end of the whole records it covers (-1: none). */
  acked(cipherAcked: number): number {
    const map = this.ackMap;
    while (this.ackHead < map.length && map[this.ackHead] <= cipherAcked) {
      this.plainAcked = map[this.ackHead + 1];
      this.ackHead += 2;
    }
    if (this.ackHead > 2 * ACK_MAP_LIMIT || this.ackHead === map.length) {
      map.splice(0, this.ackHead);
      this.ackHead = 0;
    }
    return this.plainAcked;
  }
}

export function plausibleHeader(h: Uint8Array): boolean {
  const length = u16be(h, 3);
  return h[0] >= ContentType.ChangeCipherSpec && h[0] <= ContentType.ApplicationData && h[1] === 3 && length > 0 && length <= MAX_CIPHERTEXT;
}

export function alertName(description: number): string {
  return ALERT_NAMES[description] ?? `alert ${description}`;
}
