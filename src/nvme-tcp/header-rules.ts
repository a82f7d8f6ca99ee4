import { u32le } from '../common/bytes.js';
import { PDU_FORMATS } from './pdu-formats.js';
import { PduFlag, PduType } from './types.js';

const TYPES = Object.keys(PDU_FORMATS).map(Number);

/** Header length each PDU type must have, from the format table. */
export const EXPECTED_HLEN: Record<number, number> = Object.fromEntries(TYPES.map((t) => [t, PDU_FORMATS[t]!.hlen]));

/** The types each side may send. */
export const HOST_TYPES = new Set<number>(TYPES.filter((t) => PDU_FORMATS[t]!.sender === 'host'));
export const CONTROLLER_TYPES = new Set<number>(TYPES.filter((t) => PDU_FORMATS[t]!.sender === 'controller'));

/** Larger than any data PDU a real controller or host sends; beyond this a length is corruption. */
export const MAX_PLAUSIBLE_PLEN = 64 * 1024 * 1024;
/** Unknown PDU types are skipped by length only when the length is modest. */
export const MAX_UNKNOWN_PLEN = 1024 * 1024;

export function hasHeaderDigest(type: number, flags: number): boolean {
  return type !== PduType.ICReq && type !== PduType.ICResp && (flags & PduFlag.HDGSTF) !== 0;
}

export function hasDataDigest(type: number, flags: number): boolean {
  return type !== PduType.ICReq && type !== PduType.ICResp && (flags & PduFlag.DDGSTF) !== 0;
}

/** Bytes of the header of the PDU at b[o]: hlen plus the header digest, never past plen. */
export function headerLength(b: Uint8Array, o: number, plen: number): number {
  return Math.min(b[o + 2] + (hasHeaderDigest(b[o], b[o + 1]) ? 4 : 0), plen);
}

/**
 * Can the 8-byte common header at b[o] start a PDU we can frame? Checks only
 * what framing needs (lengths), so the stream keeps its sync through unknown
 * types and rule-breaking values; `null` means the bytes cannot be a header.
 */
export function frameableLength(b: Uint8Array, o: number): number | null {
  const type = b[o];
  const hlen = b[o + 2];
  const plen = u32le(b, o + 4);
  const expected = EXPECTED_HLEN[type];
  if (expected !== undefined) {
    if (hlen !== expected) return null;
    if (plen < hlen || plen > MAX_PLAUSIBLE_PLEN) return null;
    return plen;
  }
  if (hlen < 8 || plen < hlen || plen > MAX_UNKNOWN_PLEN) return null;
  return plen;
}

/**
 * Strict check used while hunting for a PDU boundary (stream joined mid-way or
 * after lost bytes): every field framing and decoding rely on must be
 * consistent. Needs `avail` ≥ 24 bytes from o (or the whole header).
 * `allowed` is the set of types this direction may send.
 */
export function isPlausibleHeader(b: Uint8Array, o: number, avail: number, allowed: Set<number>): boolean {
  if (avail < 8) return false;
  const type = b[o];
  if (!allowed.has(type)) return false;
  const flags = b[o + 1];
  const hlen = b[o + 2];
  const pdo = b[o + 3];
  const plen = u32le(b, o + 4);
  if (hlen !== EXPECTED_HLEN[type] || plen > MAX_PLAUSIBLE_PLEN) return false;
  if (flags & 0xf0) return false;
  const hd = hasHeaderDigest(type, flags) ? 4 : 0;
  const dd = hasDataDigest(type, flags) ? 4 : 0;
  const headerEnd = hlen + hd;
  switch (type) {
    case PduType.ICReq:
    case PduType.ICResp:
      return flags === 0 && pdo === 0 && plen === 128;
    case PduType.CapsuleResp:
    case PduType.R2T:
      if (flags & ~(PduFlag.HDGSTF | PduFlag.DDGSTF)) return false;
      if (pdo !== 0 || plen !== headerEnd) return false;
      if (type === PduType.R2T && avail >= 20 && u32le(b, o + 16) === 0) return false;
      return true;
    case PduType.CapsuleCmd:
      if (flags & ~(PduFlag.HDGSTF | PduFlag.DDGSTF)) return false;
      if (plen === headerEnd) return pdo === 0 || pdo === headerEnd;
      return pdo >= headerEnd && pdo <= plen - dd && plen <= headerEnd + 1024 * 1024;
    case PduType.H2CData:
    case PduType.C2HData: {
      if (type === PduType.H2CData && flags & PduFlag.SUCCESS) return false;
      if (pdo < headerEnd || pdo > plen) return false;
      if (avail < 20) return true;
      const datal = u32le(b, o + 16);
      return datal > 0 && datal === plen - pdo - dd;
    }
    case PduType.H2CTermReq:
    case PduType.C2HTermReq:
      return pdo === 0 && plen <= 152 + hd;
    default:
      return false;
  }
}
