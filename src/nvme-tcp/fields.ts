import { readFixedString } from '../common/text.js';
import { FABRICS_OPCODE, FCTYPE_CONNECT, FCTYPE_PROPERTY_GET, FCTYPE_PROPERTY_SET, hasLbaRange } from './opcodes.js';
import type { ConnectData, Cqe, IdentifyController, Sqe } from './types.js';

import { u16le as u16, u32le as u32, u64le as u64 } from '../common/bytes.js';

/** NVMe and NVMe/TCP fields are little-endian. */
export { u16, u32, u64 };

/** A little-endian 64-bit value as 16 hex digits (exact: identifiers, not quantities). */
export function hex64(b: Uint8Array, o: number): string {
  return `0x${u32(b, o + 4).toString(16).padStart(8, '0')}${u32(b, o).toString(16).padStart(8, '0')}`;
}

/**
 * Decodes the 64-byte SQE at b[o]. `isAdmin`: the queue is the admin queue (its opcodes carry no LBA
 * range); undefined = not known. `into`: an SQE to overwrite instead of allocating one (every field is
 * set; `connect` and `property` are always new objects, so a reader may keep them).
 */
export function decodeSqe(b: Uint8Array, o: number, isAdmin?: boolean, into?: Sqe): Sqe {
  const opcode = b[o];
  const sqe = into ?? emptySqe();
  sqe.opcode = opcode;
  sqe.cid = u16(b, o + 2);
  sqe.nsid = u32(b, o + 4);
  sqe.dataLength = u32(b, o + 32);
  sqe.cdw10 = u32(b, o + 40);
  sqe.cdw11 = u32(b, o + 44);
  sqe.cdw12 = u32(b, o + 48);
  sqe.cdw13 = u32(b, o + 52);
  sqe.fctype = sqe.slba = sqe.nlb = sqe.cns = undefined;
  sqe.connect = undefined;
  sqe.property = undefined;
  if (opcode === FABRICS_OPCODE) {
    const fctype = b[o + 4];
    sqe.fctype = fctype;
    sqe.nsid = 0;
    if (fctype === FCTYPE_CONNECT) {
      sqe.connect = { recfmt: u16(b, o + 40), qid: u16(b, o + 42), sqsize: u16(b, o + 44), cattr: b[o + 46], katoMs: u32(b, o + 48) };
    } else if (fctype === FCTYPE_PROPERTY_SET || fctype === FCTYPE_PROPERTY_GET) {
      const size = (b[o + 40] & 7) === 1 ? 8 : 4;
      sqe.property = { offset: u32(b, o + 44), size };
      if (fctype === FCTYPE_PROPERTY_SET) sqe.property.value = size === 8 ? u64(b, o + 48) : u32(b, o + 48);
    }
  } else {
    sqe.cns = b[o + 40];
    if (isAdmin !== true && hasLbaRange(opcode)) {
      sqe.slba = u64(b, o + 40);
      sqe.nlb = u16(b, o + 48) + 1;
    }
  }
  return sqe;
}

/** One shape for every SQE, decoded or reused. */
export function emptySqe(): Sqe {
  return {
    opcode: 0, cid: 0, nsid: 0, dataLength: 0, cdw10: 0, cdw11: 0, cdw12: 0, cdw13: 0,
    fctype: undefined, slba: undefined, nlb: undefined, cns: undefined, connect: undefined, property: undefined,
  };
}

/** One shape for every CQE, decoded or reused. */
export function emptyCqe(): Cqe {
  return { dw0: 0, dw1: 0, sqhd: 0, sqid: 0, cid: 0, sc: 0, sct: 0, crd: 0, more: false, dnr: false };
}

/** Decodes the 16-byte CQE at b[o]; `into`: a CQE to overwrite instead of allocating one. */
export function decodeCqe(b: Uint8Array, o: number, into?: Cqe): Cqe {
  const status = u16(b, o + 14);
  const cqe = into ?? emptyCqe();
  cqe.dw0 = u32(b, o);
  cqe.dw1 = u32(b, o + 4);
  cqe.sqhd = u16(b, o + 8);
  cqe.sqid = u16(b, o + 10);
  cqe.cid = u16(b, o + 12);
  cqe.sc = (status >> 1) & 0xff;
  cqe.sct = (status >> 9) & 0x7;
  cqe.crd = (status >> 12) & 0x3;
  cqe.more = (status & 0x4000) !== 0;
  cqe.dnr = (status & 0x8000) !== 0;
  return cqe;
}

export const CONNECT_DATA_BYTES = 1024;

export function decodeConnectData(b: Uint8Array): ConnectData {
  let hostId = '';
  for (let i = 0; i < 16; i++) hostId += b[i].toString(16).padStart(2, '0');
  return { hostId, cntlid: u16(b, 16), subnqn: readFixedString(b, 256, 256), hostnqn: readFixedString(b, 512, 256) };
}

export const IDENTIFY_BYTES = 4096;
/** CTRATT bit 6, Traffic Based Keep Alive Support. */
const CTRATT_TBKAS = 1 << 6;

export function decodeIdentifyController(b: Uint8Array): IdentifyController {
  const ctratt = u32(b, 96);
  return {
    serial: readFixedString(b, 4, 20),
    model: readFixedString(b, 24, 40),
    firmware: readFixedString(b, 64, 8),
    cntlid: u16(b, 78),
    ctratt,
    tbkas: (ctratt & CTRATT_TBKAS) !== 0,
    kasMs: u16(b, 320) * 100,
    cqtMs: u16(b, 386),
    subnqn: readFixedString(b, 768, 256),
    ciu: b[135],
    cirn: hex64(b, 136),
    ccrl: b[1807],
  };
}
