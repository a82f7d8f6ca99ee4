/**
 * The byte readers and the writer every binary format uses (capture files, packets, PDUs, TLS
 * records, the pcapng writer, the test builders): offsets explicit, endianness in the name or an
 * argument, never a DataView per read. Small enough for V8 to inline on the per-packet path.
 */

export function u16le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** 24 bits, network order (TLS handshake lengths). */
export function u24be(b: Uint8Array, o: number): number {
  return (b[o] << 16) | u16be(b, o + 1);
}

export function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Little-endian 64-bit value as a number (exact below 2^53, which covers every real LBA and offset). */
export function u64le(b: Uint8Array, o: number): number {
  return u32le(b, o + 4) * 4294967296 + u32le(b, o);
}

/** 16 bits in the byte order a capture file declared. */
export function u16(b: Uint8Array, o: number, littleEndian: boolean): number {
  return littleEndian ? u16le(b, o) : u16be(b, o);
}

/** 32 bits in the byte order a capture file declared. */
export function u32(b: Uint8Array, o: number, littleEndian: boolean): number {
  return littleEndian ? u32le(b, o) : u32be(b, o);
}

/** Writes 16 bits into `b` at `o`, in the byte order given (a field patched in place). */
export function putU16(b: Uint8Array, o: number, v: number, littleEndian: boolean): void {
  const [lo, hi] = littleEndian ? [o, o + 1] : [o + 1, o];
  b[lo] = v & 0xff;
  b[hi] = (v >>> 8) & 0xff;
}

/** Writes 32 bits into `b` at `o`, in the byte order given. */
export function putU32(b: Uint8Array, o: number, v: number, littleEndian: boolean): void {
  for (let k = 0; k < 4; k++) b[littleEndian ? o + k : o + 3 - k] = (v >>> (8 * k)) & 0xff;
}

/** Bytes appended in order into a buffer that grows: each value's byte order is the caller's to say. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  /** `littleEndian`: the byte order of values written without one. */
  constructor(size = 64, private readonly littleEndian = true) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v;
    return this;
  }

  u16(v: number, littleEndian = this.littleEndian): this {
    this.room(2);
    this.view.setUint16(this.length, v, littleEndian);
    this.length += 2;
    return this;
  }

  u32(v: number, littleEndian = this.littleEndian): this {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0, littleEndian);
    this.length += 4;
    return this;
  }

  /** A 64-bit value given as a number (below 2^53). */
  u64(v: number, littleEndian = this.littleEndian): this {
    const hi = Math.floor(v / 4294967296);
    const lo = v >>> 0;
    return littleEndian ? this.u32(lo, true).u32(hi, true) : this.u32(hi, false).u32(lo, false);
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }

  /** Zeros up to the next multiple of 4 (pcapng blocks and options). */
  pad4(): this {
    return this.zeros((4 - (this.length % 4)) % 4);
  }

  /** Overwrites 32 bits already written at `at` (a length known only at the end). */
  patchU32(at: number, v: number, littleEndian = this.littleEndian): this {
    this.view.setUint32(at, v >>> 0, littleEndian);
    return this;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
