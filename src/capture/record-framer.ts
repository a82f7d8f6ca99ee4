import { CaptureFormatError, type BlockSink, type CaptureInfo, type CaptureRecord, type CaptureSink } from './types.js';

/**
 * Splits a byte stream into length-prefixed records without copying them: a
 * record that lies inside a pushed chunk is handed over as a view of that
 * chunk; only a record split across chunks is assembled in `pending`.
 * One code path serves a whole file and a stream fed a byte at a time.
 */
export abstract class RecordFramer {
  private pending = new Uint8Array(256);
  private pendingLen = 0;
  /** Stream offset of the next record's first byte. */
  protected streamOffset = 0;

  /**
   * Size of the record at bytes[off]: a number > avail means "need that many";
   * when even the size is not known yet, return the bytes needed to learn it.
   * Throws CaptureFormatError for bytes that cannot be a record.
   */
  protected abstract recordSize(bytes: Uint8Array, off: number, avail: number): number;
  protected abstract handleRecord(bytes: Uint8Array, off: number, size: number): void;

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (this.pendingLen > 0) {
      const need = this.recordSize(this.pending, 0, this.pendingLen);
      if (need <= this.pendingLen) {
        this.completePending(need);
        continue;
      }
      const take = Math.min(need - this.pendingLen, chunk.length - pos);
      this.appendPending(chunk, pos, take);
      pos += take;
      if (this.pendingLen < need) return;
    }
    const end = chunk.length;
    while (pos < end) {
      const avail = end - pos;
      const size = this.recordSize(chunk, pos, avail);
      if (size > avail) break;
      this.handleRecord(chunk, pos, size);
      this.streamOffset += size;
      pos += size;
    }
    if (pos < end) this.appendPending(chunk, pos, end - pos);
  }

  /** Bytes received but not yet forming a whole record. */
  get leftover(): number {
    return this.pendingLen;
  }

  get offset(): number {
    return this.streamOffset;
  }

  private completePending(size: number): void {
    const rest = this.pendingLen - size;
    this.handleRecord(this.pending, 0, size);
    this.streamOffset += size;
    if (rest > 0) this.pending.copyWithin(0, size, this.pendingLen);
    this.pendingLen = rest;
  }

  private appendPending(src: Uint8Array, from: number, count: number): void {
    const needed = this.pendingLen + count;
    if (needed > this.pending.length) {
      let cap = this.pending.length;
      while (cap < needed) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.pending.subarray(0, this.pendingLen));
      this.pending = grown;
    }
    this.pending.set(src.subarray(from, from + count), this.pendingLen);
    this.pendingLen = needed;
  }

  protected fail(relative: number, message: string): never {
    throw new CaptureFormatError(this.streamOffset + relative, message);
  }
}

/** A record object to reuse for every packet of a capture. */
export function newRecord(): CaptureRecord {
  return { frame: 0, time: 0, linkType: 0, bytes: new Uint8Array(0), offset: 0, capLen: 0, origLen: 0, fileOffset: 0 };
}


/** The largest record we accept; larger lengths are corruption, not data. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** A capture format's parser: records framed from the stream, each handed to `sink` in one reused record; the file's facts go to `info`. */
export abstract class CaptureParser extends RecordFramer {
  protected readonly rec: CaptureRecord = newRecord();

  constructor(
    protected readonly sink: CaptureSink,
    protected readonly info: CaptureInfo,
    /** Every block as read (the pcapng annotator copies them). */
    protected readonly blocks?: BlockSink,
  ) {
    super();
  }
}
