import { u16, u32, u32le } from '../common/bytes.js';
import { BYTE_ORDER_MAGIC, EPB, IDB, OPB, OPT_IF_TSOFFSET, OPT_IF_TSRESOL, SHB, SPB } from './pcapng-format.js';
import { CaptureParser, MAX_RECORD_BYTES } from './record-framer.js';
import type { BlockSink, CaptureInfo, CaptureSink } from './types.js';

interface Interface {
  linkType: number;
  /** Timestamp units per second, e.g. 1e6 for the default microseconds. */
  unitsPerSecond: number;
  /** Whole seconds added to every timestamp (if_tsoffset). */
  offsetSeconds: number;
}

/**
 * pcapng: several sections with their own byte order, interfaces with their own
 * link type and timestamp resolution; EPB, SPB and the obsolete packet block
 * are packets, every other block is skipped by its length.
 */
export class PcapngFramer extends CaptureParser {
  private littleEndian = true;
  private interfaces: Interface[] = [];
  private lastTime = 0;
  constructor(sink: CaptureSink, info: CaptureInfo, blocks?: BlockSink) {
    super(sink, info, blocks);
    info.format = 'pcapng';
  }

  protected recordSize(b: Uint8Array, off: number, avail: number): number {
    if (avail < 12) return 12;
    const type = this.u32(b, off);
    if (type === SHB) {
      // The section's byte order is only known from its own magic.
      const magicLE = u32le(b, off + 8);
      if (magicLE === BYTE_ORDER_MAGIC) this.littleEndian = true;
      else if (magicLE === 0x4d3c2b1a) this.littleEndian = false;
      else this.fail(8, 'pcapng section header has no valid byte-order magic');
    } else if (this.info.byteOrder === 'unknown') {
      this.fail(0, 'pcapng file does not start with a section header block');
    }
    const length = this.u32(b, off + 4);
    if (length < 12 || length % 4 !== 0 || length > MAX_RECORD_BYTES) {
      this.fail(4, `pcapng block of type 0x${type.toString(16)} has impossible length ${length}`);
    }
    return length;
  }

  protected handleRecord(b: Uint8Array, off: number, size: number): void {
    this.blocks?.block(b, off, size);
    const type = this.u32(b, off);
    switch (type) {
      case SHB:
        this.interfaces = [];
        this.info.byteOrder = this.littleEndian ? 'little' : 'big';
        return;
      case IDB:
        return this.readInterface(b, off, size);
      case EPB:
        return this.emit(b, off, size, this.u32(b, off + 8), this.u32(b, off + 12), this.u32(b, off + 16),
          this.u32(b, off + 20), this.u32(b, off + 24), 28);
      case OPB:
        return this.emit(b, off, size, this.u16(b, off + 8), this.u32(b, off + 12), this.u32(b, off + 16),
          this.u32(b, off + 20), this.u32(b, off + 24), 28);
      case SPB: {
        const origLen = this.u32(b, off + 8);
        return this.emit(b, off, size, 0, -1, -1, Math.min(origLen, size - 16), origLen, 12);
      }
      default:
        return; // NRB, ISB, DSB, custom and unknown blocks carry no packets
    }
  }

  private readInterface(b: Uint8Array, off: number, size: number): void {
    if (size < 20) this.fail(0, 'interface description block too short');
    const iface: Interface = { linkType: this.u16(b, off + 8), unitsPerSecond: 1e6, offsetSeconds: 0 };
    let p = off + 16;
    const end = off + size - 4;
    while (p + 4 <= end) {
      const code = this.u16(b, p);
      const len = this.u16(b, p + 2);
      if (code === 0) break;
      if (p + 4 + len > end) break;
      if (code === OPT_IF_TSRESOL && len >= 1) {
        const v = b[p + 4];
        iface.unitsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
      } else if (code === OPT_IF_TSOFFSET && len >= 8) {
        iface.offsetSeconds = this.u32(b, this.littleEndian ? p + 8 : p + 4) * 2 ** 32 + this.u32(b, this.littleEndian ? p + 4 : p + 8);
      }
      p += 4 + ((len + 3) & ~3);
    }
    if (this.interfaces.length === 0 && this.info.frames === 0) {
      this.info.timeResolution = resolutionName(iface.unitsPerSecond);
    }
    this.interfaces.push(iface);
    if (!this.info.linkTypes.includes(iface.linkType)) this.info.linkTypes.push(iface.linkType);
  }

  private emit(
    b: Uint8Array, off: number, size: number, ifIndex: number, tsHigh: number, tsLow: number,
    capLen: number, origLen: number, dataStart: number,
  ): void {
    const iface = this.interfaces[ifIndex];
    if (!iface) this.fail(8, `packet block names interface ${ifIndex}, which was not described`);
    if (dataStart + capLen + 4 > size) this.fail(0, `packet block claims ${capLen} captured bytes in a ${size}-byte block`);
    const r = this.rec;
    r.frame++;
    r.time = tsHigh < 0 ? this.lastTime : timestamp(tsHigh, tsLow, iface);
    this.lastTime = r.time;
    r.linkType = iface.linkType;
    r.bytes = b;
    r.offset = off + dataStart;
    r.capLen = capLen;
    r.origLen = origLen;
    r.fileOffset = this.streamOffset;
    this.info.frames = r.frame;
    this.sink.record(r);
  }

  private u32(b: Uint8Array, o: number): number {
    return u32(b, o, this.littleEndian);
  }

  private u16(b: Uint8Array, o: number): number {
    return u16(b, o, this.littleEndian);
  }
}

/**
 * Seconds as `whole + fraction / unitsPerSecond`, the same formula the pcap
 * reader uses, so a pcap and its pcapng conversion give identical times.
 */
function timestamp(high: number, low: number, iface: Interface): number {
  const units = iface.unitsPerSecond;
  const value = high * 4294967296 + low;
  if (value <= Number.MAX_SAFE_INTEGER) {
    const whole = Math.floor(value / units);
    return iface.offsetSeconds + whole + (value - whole * units) / units;
  }
  const big = (BigInt(high) << 32n) | BigInt(low);
  const bigUnits = BigInt(units);
  return iface.offsetSeconds + Number(big / bigUnits) + Number(big % bigUnits) / units;
}

function resolutionName(unitsPerSecond: number): string {
  if (unitsPerSecond === 1e6) return 'us';
  if (unitsPerSecond === 1e9) return 'ns';
  if (unitsPerSecond === 1e3) return 'ms';
  return `1/${unitsPerSecond}s`;
}
