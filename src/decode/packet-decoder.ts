import { u16be, u32be, u32le } from '../common/bytes.js';
import type { CaptureRecord, CaptureSink } from '../capture/types.js';
import type { DecodeStats, SegmentSink, TcpSegment } from './types.js';

/** LINKTYPE_* values (tcpdump.org/linktypes.html) this decoder understands. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  RAW_OLD_BSD: 12,
  RAW_OLD_OPENBSD: 14,
  LOOP: 108,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
  IPV4: 228,
  IPV6: 229,
} as const;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** Link layer → IP → TCP, with no allocation per packet. */
export class PacketDecoder implements CaptureSink {
  readonly stats: DecodeStats = {
    packets: 0, firstTime: undefined, lastTime: undefined, tcpSegments: 0, nonIp: 0, nonTcp: 0, ipFragments: 0, malformed: 0,
    unsupportedLinkTypes: {}, truncatedFrames: 0, firstTruncatedFrame: 0,
  };
  private readonly seg: TcpSegment = {
    frame: 0, time: 0, ipVersion: 4, src0: 0, src1: 0, src2: 0, src3: 0, dst0: 0, dst1: 0, dst2: 0, dst3: 0,
    srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, bytes: new Uint8Array(0), payloadOffset: 0, payloadLength: 0, payloadMissing: 0,
  };

  /** Time of the latest record, published to stats.lastTime by finish(): stats.lastTime starts undefined, so storing every timestamp there would box each one. */
  private lastTime = 0;

  constructor(private readonly sink: SegmentSink) {}

  /** End of the capture: the statistics are complete. */
  finish(): void {
    if (this.stats.packets > 0) this.stats.lastTime = this.lastTime;
  }

  record(r: CaptureRecord): void {
    if (this.stats.packets++ === 0) this.stats.firstTime = r.time;
    this.lastTime = r.time;
    if (r.capLen < r.origLen) {
      this.stats.truncatedFrames++;
      if (this.stats.firstTruncatedFrame === 0) this.stats.firstTruncatedFrame = r.frame;
    }
    const b = r.bytes;
    const end = r.offset + r.capLen;
    let p = r.offset;
    let etherType: number;
    switch (r.linkType) {
      case LinkType.ETHERNET: {
        if (end - p < 14) return this.malformed();
        etherType = u16be(b, p + 12);
        p += 14;
        // 802.1Q, 802.1ad and the old QinQ tag: 4 bytes each, any depth.
        while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
          if (end - p < 4) return this.malformed();
          etherType = u16be(b, p + 2);
          p += 4;
        }
        break;
      }
      default:
        // Every other link layer: a fixed header before the IP packet (-1: malformed or unsupported).
        p = this.otherLink(r, b, p, end);
        if (p < 0) return;
        etherType = this.etherType;
    }
    const wireMissing = r.origLen - r.capLen;
    if (etherType === ETH_IPV4) this.ipv4(r, b, p, end, wireMissing);
    else if (etherType === ETH_IPV6) this.ipv6(r, b, p, end, wireMissing);
    else this.stats.nonIp++;
  }

  /** The EtherType `otherLink` found (a field: no pair allocated per packet). */
  private etherType = 0;

  /** Link layers other than Ethernet: where the IP packet starts (the EtherType in `etherType`), or -1. */
  private otherLink(r: CaptureRecord, b: Uint8Array, p: number, end: number): number {
    switch (r.linkType) {
      case LinkType.LINUX_SLL:
        if (end - p < 16) return this.malformedAt();
        this.etherType = u16be(b, p + 14);
        return p + 16;
      case LinkType.LINUX_SLL2:
        if (end - p < 20) return this.malformedAt();
        this.etherType = u16be(b, p);
        return p + 20;
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (end - p < 4) return this.malformedAt();
        // NULL stores the address family in the capturing host's byte order, LOOP in network order.
        const family = r.linkType === LinkType.LOOP || (b[p] === 0 && b[p + 3] === 0) ? u32be(b, p) : u32le(b, p);
        this.etherType = family === 2 ? ETH_IPV4 : family === 24 || family === 28 || family === 30 ? ETH_IPV6 : 0;
        return p + 4;
      }
      case LinkType.RAW:
      case LinkType.RAW_OLD_BSD:
      case LinkType.RAW_OLD_OPENBSD:
      case LinkType.IPV4:
      case LinkType.IPV6:
        if (end - p < 1) return this.malformedAt();
        this.etherType = b[p] >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
        return p;
      default: {
        const key = String(r.linkType);
        this.stats.unsupportedLinkTypes[key] = (this.stats.unsupportedLinkTypes[key] ?? 0) + 1;
        return -1;
      }
    }
  }

  private malformedAt(): number {
    this.malformed();
    return -1;
  }

  private ipv4(r: CaptureRecord, b: Uint8Array, p: number, end: number, wireMissing: number): void {
    if (end - p < 20 || b[p] >> 4 !== 4) return this.malformed();
    const ihl = (b[p] & 15) * 4;
    let total = u16be(b, p + 2);
    if (ihl < 20) return this.malformed();
    // Segmentation offload captures may carry total length 0: the frame is the datagram.
    if (total === 0) total = end - p + wireMissing;
    if (total < ihl) return this.malformed();
    const fragment = ((b[p + 6] & 0x3f) << 8) | b[p + 7];
    if (fragment !== 0) {
      this.stats.ipFragments++;
      return;
    }
    if (b[p + 9] !== 6) {
      this.stats.nonTcp++;
      return;
    }
    const s = this.seg;
    s.ipVersion = 4;
    s.src0 = s.src1 = s.src2 = s.dst0 = s.dst1 = s.dst2 = 0;
    s.src3 = u32be(b, p + 12);
    s.dst3 = u32be(b, p + 16);
    this.tcp(r, b, p + ihl, p + total, end);
  }

  private ipv6(r: CaptureRecord, b: Uint8Array, p: number, end: number, wireMissing: number): void {
    if (end - p < 40 || b[p] >> 4 !== 6) return this.malformed();
    let payloadLength = u16be(b, p + 4);
    let next = b[p + 6];
    const s = this.seg;
    s.ipVersion = 6;
    s.src0 = u32be(b, p + 8); s.src1 = u32be(b, p + 12); s.src2 = u32be(b, p + 16); s.src3 = u32be(b, p + 20);
    s.dst0 = u32be(b, p + 24); s.dst1 = u32be(b, p + 28); s.dst2 = u32be(b, p + 32); s.dst3 = u32be(b, p + 36);
    if (payloadLength === 0) payloadLength = end - p - 40 + wireMissing; // jumbogram or offload
    const datagramEnd = p + 40 + payloadLength;
    p += 40;
    // Walk extension headers until TCP (or give up on anything else).
    for (;;) {
      if (next === 6) return this.tcp(r, b, p, datagramEnd, end);
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        if (end - p < 2) return this.malformed();
        next = b[p];
        p += (b[p + 1] + 1) * 8;
      } else if (next === 51) {
        if (end - p < 2) return this.malformed();
        next = b[p];
        p += (b[p + 1] + 2) * 4;
      } else if (next === 44) {
        if (end - p < 8) return this.malformed();
        const offsetAndMore = u16be(b, p + 2);
        if (offsetAndMore & 0xfff9) {
          this.stats.ipFragments++;
          return;
        }
        next = b[p];
        p += 8;
      } else {
        this.stats.nonTcp++;
        return;
      }
      if (p > datagramEnd) return this.malformed();
    }
  }

  private tcp(r: CaptureRecord, b: Uint8Array, p: number, datagramEnd: number, end: number): void {
    if (end - p < 20) return this.malformed();
    const headerLength = (b[p + 12] >> 4) * 4;
    if (headerLength < 20 || p + headerLength > datagramEnd) return this.malformed();
    const s = this.seg;
    s.frame = r.frame;
    s.time = r.time;
    s.srcPort = u16be(b, p);
    s.dstPort = u16be(b, p + 2);
    s.seq = u32be(b, p + 4);
    s.ack = u32be(b, p + 8);
    s.flags = b[p + 13];
    s.bytes = b;
    const payloadStart = p + headerLength;
    // Bytes after the datagram (Ethernet padding) are not payload.
    const capturedEnd = Math.min(end, datagramEnd);
    s.payloadOffset = payloadStart;
    s.payloadLength = Math.max(0, capturedEnd - payloadStart);
    s.payloadMissing = Math.max(0, datagramEnd - Math.max(capturedEnd, payloadStart));
    this.stats.tcpSegments++;
    this.sink.segment(s);
  }

  private malformed(): void {
    this.stats.malformed++;
  }
}
