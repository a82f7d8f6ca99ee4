import { BYTE_ORDER_MAGIC, EPB, IDB, OPB, OPT_COMMENT, OPT_END, OPT_IF_TSRESOL, SHB, SPB } from './pcapng-format.js';
import { ByteWriter, u16, u32 } from '../common/bytes.js';
import type { BlockSink, CaptureRecord, CaptureSink } from './types.js';

/**
 * Copies a capture, pcap or pcapng, as pcapng with packet comments added to
 * chosen frames. pcapng blocks are copied byte for byte (sections, interfaces,
 * name resolution, statistics); a commented frame's packet block is rewritten
 * as an EPB in its section's byte order, keeping its options (existing comments
 * among them) and adding ours. pcap becomes one section with one interface of
 * the same link type, snapshot length and timestamp resolution. Output goes to
 * `write` in pieces: memory stays constant whatever the capture's size.
 */
export class PcapngAnnotator implements BlockSink, CaptureSink {
  private format: 'pcap' | 'pcapng' | undefined;
  private littleEndian = true;
  private nanos = false;
  /** The packet block seen last, waiting for its record (and frame number). */
  private packet: { bytes: Uint8Array; offset: number; size: number } | undefined;
  private out: Uint8Array;
  private used = 0;
  /** Frames given a comment, for the caller's check. */
  annotated = 0;

  constructor(
    private readonly comments: ReadonlyMap<number, readonly string[]>,
    private readonly write: (bytes: Uint8Array) => void,
    bufferBytes = 1 << 20,
  ) {
    this.out = new Uint8Array(bufferBytes);
  }

  block(bytes: Uint8Array, offset: number, size: number): void {
    if (this.format === undefined) {
      this.format = u32(bytes, offset, true) === SHB ? 'pcapng' : 'pcap';
      if (this.format === 'pcap') return this.pcapHeader(bytes, offset);
    }
    if (this.format === 'pcap') {
      this.packet = { bytes, offset, size };
      return;
    }
    const type = this.u32(bytes, offset);
    if (type === SHB) this.littleEndian = u32(bytes, offset + 8, true) === BYTE_ORDER_MAGIC;
    if (type === EPB || type === OPB || type === SPB) this.packet = { bytes, offset, size };
    else this.copy(bytes, offset, size);
  }

  record(r: CaptureRecord): void {
    const p = this.packet;
    this.packet = undefined;
    if (!p) return;
    const comments = this.comments.get(r.frame);
    if (comments) this.annotated++;
    if (this.format === 'pcap') return this.pcapRecord(p.bytes, p.offset, r, comments ?? []);
    if (!comments) return this.copy(p.bytes, p.offset, p.size);
    this.rewrite(p.bytes, p.offset, p.size, r, comments);
  }

  /** Writes out what is buffered. */
  flush(): void {
    if (this.used === 0) return;
    this.write(this.out.slice(0, this.used));
    this.used = 0;
  }

  private pcapHeader(b: Uint8Array, o: number): void {
    const magic = u32(b, o, true);
    this.littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    this.nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    const snaplen = this.u32(b, o + 16);
    const linkType = this.u32(b, o + 20) & 0x03ffffff;
    // Our own section is little-endian, whatever the pcap was.
    const source = this.littleEndian;
    this.littleEndian = true;
    const shb = writer(true).u32(SHB).u32(28).u32(BYTE_ORDER_MAGIC).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u32(28);
    this.put(shb.done());
    const idb = writer(true).u32(IDB).u32(0).u16(linkType).u16(0).u32(snaplen);
    if (this.nanos) idb.u16(OPT_IF_TSRESOL).u16(1).u8(9).pad4().u16(0).u16(0);
    this.put(block(idb));
    this.littleEndian = source;
  }

  private pcapRecord(b: Uint8Array, o: number, r: CaptureRecord, comments: readonly string[]): void {
    const sec = this.u32(b, o);
    const frac = this.u32(b, o + 4);
    // Timestamp units exactly: seconds × 10^6 (or 10^9) + fraction, as two 32-bit halves.
    const units = BigInt(sec) * (this.nanos ? 1_000_000_000n : 1_000_000n) + BigInt(frac);
    this.epb(0, Number(units >> 32n), Number(units & 0xffffffffn), r.bytes, r.offset, r.capLen, r.origLen, undefined, comments, true);
  }

  private rewrite(b: Uint8Array, o: number, size: number, r: CaptureRecord, comments: readonly string[]): void {
    const type = this.u32(b, o);
    const le = this.littleEndian;
    if (type === SPB) return this.epb(0, 0, 0, r.bytes, r.offset, r.capLen, r.origLen, undefined, comments, le);
    const ifIndex = type === EPB ? this.u32(b, o + 8) : this.u16(b, o + 8);
    const optionsStart = o + 28 + ((r.capLen + 3) & ~3);
    const options = b.subarray(optionsStart, o + size - 4);
    this.epb(ifIndex, this.u32(b, o + 12), this.u32(b, o + 16), r.bytes, r.offset, r.capLen, r.origLen, options, comments, le);
  }

  /** An EPB with the packet's original options (end-of-options dropped) followed by our comments. */
  private epb(
    ifIndex: number, tsHigh: number, tsLow: number, data: Uint8Array, dataOffset: number, capLen: number, origLen: number,
    options: Uint8Array | undefined, comments: readonly string[], littleEndian: boolean,
  ): void {
    const w = writer(littleEndian).u32(EPB).u32(0).u32(ifIndex).u32(tsHigh).u32(tsLow).u32(capLen).u32(origLen);
    w.bytes(data.subarray(dataOffset, dataOffset + capLen)).pad4();
    if (options) {
      // Walk the options to drop opt_endofopt: ours follow, then one end marker.
      let p = 0;
      while (p + 4 <= options.length) {
        const code = u16(options, p, littleEndian);
        const len = u16(options, p + 2, littleEndian);
        if (code === OPT_END) break;
        const whole = 4 + ((len + 3) & ~3);
        w.bytes(options.subarray(p, Math.min(options.length, p + whole)));
        p += whole;
      }
    }
    for (const c of comments) {
      const text = new TextEncoder().encode(c);
      w.u16(OPT_COMMENT).u16(text.length).bytes(text).pad4();
    }
    w.u16(0).u16(0);
    this.put(block(w));
  }

  private copy(b: Uint8Array, o: number, size: number): void {
    this.put(b.subarray(o, o + size));
  }

  private put(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.out.length) {
      this.flush();
      if (bytes.length > this.out.length) {
        this.write(bytes.slice());
        return;
      }
    }
    this.out.set(bytes, this.used);
    this.used += bytes.length;
  }

  private u32(b: Uint8Array, o: number): number {
    return u32(b, o, this.littleEndian);
  }

  private u16(b: Uint8Array, o: number): number {
    return u16(b, o, this.littleEndian);
  }
}

/** A block in a given byte order, its total length (at offset 4 and as its last word) filled in by `block()`. */
function writer(littleEndian: boolean): ByteWriter {
  return new ByteWriter(256, littleEndian);
}

function block(w: ByteWriter): Uint8Array {
  w.u32(0);
  const total = w.length;
  return w.patchU32(4, total).patchU32(total - 4, total).done();
}
