/** Hashes of a TCP 4-tuple that do not depend on the direction: a segment and its flow land in the same bucket. */
import type { TcpSegment } from '../decode/types.js';

/** A flow's endpoints as stored: three 32-bit words of IPv6 (zero for IPv4) and the address's last word, and the port. */
export interface FlowEnds {
  s0: number; s1: number; s2: number; s3: number; sport: number;
  d0: number; d1: number; d2: number; d3: number; dport: number;
}

/** Direction-independent hash of the 4-tuple. */
export function tupleHash(s: TcpSegment): number {
  return hash4(s.src0, s.src1, s.src2, s.src3, s.srcPort, s.dst0, s.dst1, s.dst2, s.dst3, s.dstPort);
}

/** The same hash from a flow's stored endpoints. */
export function flowHash(f: FlowEnds): number {
  return hash4(f.s0, f.s1, f.s2, f.s3, f.sport, f.d0, f.d1, f.d2, f.d3, f.dport);
}

function hash4(s0: number, s1: number, s2: number, s3: number, sport: number, d0: number, d1: number, d2: number, d3: number, dport: number): number {
  const a = (s3 ^ s2 ^ s1 ^ s0) + sport;
  const b = (d3 ^ d2 ^ d1 ^ d0) + dport;
  return ((a ^ b) + Math.imul(sport ^ dport, 0x9e3779b1)) | 0;
}
