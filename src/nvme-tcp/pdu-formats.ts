/**
 * The PDU formats of the NVMe/TCP transport binding, one table: each type's name, header length,
 * which side sends it, how its header fields are read, and which of them a cut header loses.
 * Field decoding only: what a PDU teaches about its connection (queue id, digests, Identify data)
 * is the decoder's connection context.
 */
import { decodeCqe, decodeSqe, u16, u32 } from './fields.js';
import type { FramedPdu } from './pdu-framer.js';
import { PduFlag, PduType, type Cqe, type PduEvent, type PduRecord, type Sqe } from './types.js';

/** Entries the decoder overwrites instead of allocating (the sink keeps nothing); undefined: allocate. */
export interface ReusedEntries {
  sqe: Sqe;
  cqe: Cqe;
}

export interface PduFormat {
  readonly name: Exclude<PduEvent['typeName'], 'unknown'>;
  /** The header length the type must have. */
  readonly hlen: number;
  readonly sender: 'host' | 'controller';
  /** Data may follow its header, covered by a data digest when DDGSTF is set. */
  readonly carriesData: boolean;
  /** Reads the type's fields from a whole header at h[o] into the record. `isAdmin`: the queue is the admin queue (undefined: not known). */
  fields(h: Uint8Array, o: number, f: FramedPdu, pdu: PduRecord, reused: ReusedEntries | undefined, isAdmin: boolean | undefined): void;
  /** A header with only `captured` bytes: drops the fields that lay past them. Nothing is guessed. */
  cut(pdu: PduRecord, captured: number): void;
}

/** The data bytes a PDU carries: what PLEN leaves after the header, its digest, the padding to PDO and the data digest. */
function dataBytes(f: FramedPdu): number {
  const hd = f.flags & PduFlag.HDGSTF ? 4 : 0;
  const dd = f.flags & PduFlag.DDGSTF ? 4 : 0;
  return f.plen - Math.max(f.pdo, f.hlen + hd) - dd;
}

/** DATAL must be the data bytes the PDU's lengths leave. */
function dataFields(h: Uint8Array, o: number, f: FramedPdu, pdu: PduRecord): void {
  pdu.cid = u16(h, o + 8);
  const data = {
    ttag: u16(h, o + 10), datao: u32(h, o + 12), datal: u32(h, o + 16),
    last: (f.flags & PduFlag.LAST_PDU) !== 0, success: (f.flags & PduFlag.SUCCESS) !== 0,
  };
  pdu.data = data;
  if (data.datal !== dataBytes(f)) pdu.violation = `DATAL ${data.datal} does not match PLEN ${f.plen} and PDO ${f.pdo}`;
  if (f.type === PduType.H2CData && data.success) pdu.violation = 'H2CData with the SUCCESS flag';
  if (data.success && !data.last) pdu.violation = 'C2HData with SUCCESS but without LAST_PDU';
}

/** H2CData, C2HData and R2T lose their fields below 24 bytes, their CID below 10. */
function cutTransfer(pdu: PduRecord, captured: number): void {
  if (captured >= 24) return;
  pdu.data = undefined;
  pdu.r2t = undefined;
  if (captured < 10) pdu.cid = undefined;
}

function termReq(name: 'H2CTermReq' | 'C2HTermReq', sender: PduFormat['sender']): PduFormat {
  return {
    name, hlen: 24, sender, carriesData: false,
    fields(h, o, _f, pdu) {
      pdu.term = { fes: u16(h, o + 8), fei: u32(h, o + 10) };
    },
    cut(pdu, captured) {
      if (captured < 14) pdu.term = undefined;
    },
  };
}

/** ICReq and ICResp share a layout: PFV, the PDU data alignment, the digest flags, a 32-bit limit (MAXR2T, MAXH2CDATA). */
function initialization(name: 'ICReq' | 'ICResp'): PduFormat {
  const host = name === 'ICReq';
  return {
    name, hlen: 128, sender: host ? 'host' : 'controller', carriesData: false,
    fields(h, o, _f, pdu) {
      const pfv = u16(h, o + 8);
      const hdgst = (h[o + 11] & 1) !== 0;
      const ddgst = (h[o + 11] & 2) !== 0;
      if (host) pdu.icreq = { pfv, hpda: h[o + 10], hdgst, ddgst, maxr2t: u32(h, o + 12) };
      else pdu.icresp = { pfv, cpda: h[o + 10], hdgst, ddgst, maxh2cdata: u32(h, o + 12) };
    },
    cut(pdu, captured) {
      if (captured < 16) pdu.icreq = pdu.icresp = undefined;
    },
  };
}

function dataPdu(name: 'H2CData' | 'C2HData', sender: PduFormat['sender']): PduFormat {
  return { name, hlen: 24, sender, carriesData: true, fields: dataFields, cut: cutTransfer };
}

/** By PDU type (transport binding, PDU formats). */
export const PDU_FORMATS: { readonly [type: number]: PduFormat | undefined } = {
  [PduType.ICReq]: initialization('ICReq'),
  [PduType.ICResp]: initialization('ICResp'),
  [PduType.H2CTermReq]: termReq('H2CTermReq', 'host'),
  [PduType.C2HTermReq]: termReq('C2HTermReq', 'controller'),
  [PduType.CapsuleCmd]: {
    name: 'CapsuleCmd', hlen: 72, sender: 'host', carriesData: true,
    fields(h, o, f, pdu, reused, isAdmin) {
      const sqe = decodeSqe(h, o + 8, isAdmin, reused?.sqe);
      pdu.sqe = sqe;
      pdu.cid = sqe.cid;
      const inCapsule = Math.max(0, dataBytes(f));
      if (inCapsule > 0) pdu.inCapsuleLength = inCapsule;
    },
    // The SQE starts at PDU byte 8: opcode and CID end at 12, NSID at 16, CDW10–12 (SLBA, NLB, Connect, Property) at 60.
    cut(pdu, captured) {
      const sqe = pdu.sqe;
      if (!sqe) return;
      if (captured < 12) {
        pdu.sqe = pdu.cid = undefined;
        return;
      }
      if (captured < 16) sqe.nsid = 0;
      if (captured < 44) sqe.dataLength = 0;
      if (captured < 60) sqe.slba = sqe.nlb = sqe.connect = sqe.property = sqe.cns = undefined;
    },
  },
  [PduType.CapsuleResp]: {
    name: 'CapsuleResp', hlen: 24, sender: 'controller', carriesData: false,
    fields(h, o, _f, pdu, reused) {
      pdu.cqe = decodeCqe(h, o + 8, reused?.cqe);
      pdu.cid = pdu.cqe.cid;
    },
    cut(pdu, captured) {
      if (captured < 24) pdu.cqe = pdu.cid = undefined;
    },
  },
  [PduType.H2CData]: dataPdu('H2CData', 'host'),
  [PduType.C2HData]: dataPdu('C2HData', 'controller'),
  [PduType.R2T]: {
    name: 'R2T', hlen: 24, sender: 'controller', carriesData: false,
    fields(h, o, _f, pdu) {
      pdu.cid = u16(h, o + 8);
      pdu.r2t = { ttag: u16(h, o + 10), r2to: u32(h, o + 12), r2tl: u32(h, o + 16) };
    },
    cut: cutTransfer,
  },
};
