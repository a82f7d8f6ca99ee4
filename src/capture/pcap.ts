import { u32, u32le } from '../common/bytes.js';
import { CaptureParser, MAX_RECORD_BYTES } from './record-framer.js';

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Classic libpcap: either byte order, microsecond or nanosecond magic. */
export class PcapFramer extends CaptureParser {
  private littleEndian = true;
  private fracPerSecond = 1e6;
  private linkType = 0;
  private headerSeen = false;

  protected recordSize(b: Uint8Array, off: number, avail: number): number {
    if (!this.headerSeen) return FILE_HEADER;
    if (avail < RECORD_HEADER) return RECORD_HEADER;
    const capLen = this.u32(b, off + 8);
    if (capLen > MAX_RECORD_BYTES) this.fail(0, `packet record claims ${capLen} captured bytes`);
    return RECORD_HEADER + capLen;
  }

  protected handleRecord(b: Uint8Array, off: number, size: number): void {
    this.blocks?.block(b, off, size);
    if (!this.headerSeen) return this.readFileHeader(b, off);
    const r = this.rec;
    const sec = this.u32(b, off);
    const frac = this.u32(b, off + 4);
    r.frame++;
    r.time = sec + frac / this.fracPerSecond;
    r.capLen = size - RECORD_HEADER;
    r.origLen = this.u32(b, off + 12);
    r.bytes = b;
    r.offset = off + RECORD_HEADER;
    r.fileOffset = this.streamOffset;
    this.info.frames = r.frame;
    this.sink.record(r);
  }

  private readFileHeader(b: Uint8Array, off: number): void {
    const magic = u32le(b, off);
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.littleEndian = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.littleEndian = false;
    else this.fail(0, 'not a pcap file header');
    const be = this.u32(b, off);
    this.fracPerSecond = be === 0xa1b23c4d ? 1e9 : 1e6;
    // The upper bits of the link-type field carry FCS information, not the type.
    this.linkType = this.u32(b, off + 20) & 0x03ffffff;
    this.rec.linkType = this.linkType;
    this.headerSeen = true;
    this.info.format = 'pcap';
    this.info.byteOrder = this.littleEndian ? 'little' : 'big';
    this.info.timeResolution = this.fracPerSecond === 1e9 ? 'ns' : 'us';
    this.info.linkTypes = [this.linkType];
  }

  private u32(b: Uint8Array, o: number): number {
    return u32(b, o, this.littleEndian);
  }
}
