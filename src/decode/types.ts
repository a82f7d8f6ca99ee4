/**
 * One TCP segment, handed to the reassembly stage. Reused for every packet:
 * valid only during the `segment()` call, payload borrowed from the record.
 * Addresses are four 32-bit words (IPv4 uses the last word only) so the
 * connection table can match them without building strings per packet.
 */
export interface TcpSegment {
  frame: number;
  time: number;
  ipVersion: 4 | 6;
  src0: number; src1: number; src2: number; src3: number;
  dst0: number; dst1: number; dst2: number; dst3: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  bytes: Uint8Array;
  payloadOffset: number;
  /** Payload bytes present in the capture. */
  payloadLength: number;
  /** Payload bytes the IP header promises but the capture cut off (snaplen). */
  payloadMissing: number;
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface SegmentSink {
  segment(segment: TcpSegment): void;
}

/** What the decode stage saw besides TCP segments. */
export interface DecodeStats {
  packets: number;
  /** Time of the first packet (the zero of relative times, as in Wireshark). */
  firstTime: number | undefined;
  lastTime: number | undefined;
  tcpSegments: number;
  nonIp: number;
  nonTcp: number;
  ipFragments: number;
  malformed: number;
  /** Frames on interfaces whose link type we cannot decode, by link type. */
  unsupportedLinkTypes: Record<string, number>;
  /** Frames whose capture length was below the length on the wire. */
  truncatedFrames: number;
  firstTruncatedFrame: number;
}

export function formatAddress(version: 4 | 6, w0: number, w1: number, w2: number, w3: number): string {
  if (version === 4) return `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // RFC 5952: compress the longest run (of two or more) of zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hexes.join(':');
  return `${hexes.slice(0, bestStart).join(':')}::${hexes.slice(bestStart + bestLen).join(':')}`;
}
