import { describe, expect, it } from 'vitest';
import {
  c2hData, capsuleCmd, capsuleResp, concat, connectCmd, h2cData, icReq, icResp, identifyController, identifyData, ioCmd, r2t, termReq,
} from '../test-support/builders.js';
import { crc32c } from './crc32c.js';
import { PduFramer, type FramedPdu } from './pdu-framer.js';
import { CONTROLLER_TYPES, HOST_TYPES } from './header-rules.js';
import { NvmeTcpDecoder } from './nvme-tcp-decoder.js';
import type { TcpConnection } from '../reassembly/types.js';
import { newSideFacts } from '../reassembly/tcp-reassembler.js';
import type { PduRecord, PduSink, StreamDiagnostic } from './types.js';
import { putU32 } from '../common/bytes.js';

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });
});

/** Frames `stream` fed in pieces of the given sizes; returns [type, streamOffset, frame, missing] per PDU and the skips. */
function frameStream(stream: Uint8Array, sizes: (i: number) => number, opts: { inSync?: boolean; host?: boolean } = {}) {
  const pdus: [number, number, number, number][] = [];
  const skips: string[] = [];
  const framer = new PduFramer({
    header: () => ({ verifyDigest: false }),
    complete: (p: FramedPdu, frame: number) => void pdus.push([p.type, p.streamOffset, frame, p.missing]),
    skipped: (kind, offset, length) => void skips.push(`${kind} ${offset}+${length}`),
  }, opts.host === false ? CONTROLLER_TYPES : HOST_TYPES, opts.inSync ?? true);
  let frame = 0;
  for (let o = 0, i = 0; o < stream.length; i++) {
    const n = Math.max(1, sizes(i));
    framer.push(stream, o, Math.min(n, stream.length - o), ++frame, frame);
    o += n;
  }
  framer.end(frame + 1, frame + 1);
  return { pdus, skips };
}

const hostStream = concat([
  icReq(), connectCmd(0, 0, 5000, 'nqn.h', 'nqn.s'), ioCmd(2, 5, 100, 8), h2cData(7, 1, 0, new Uint8Array(5000)),
  capsuleCmd({ opcode: 1, cid: 9, nsid: 1, dataLength: 16 }, new Uint8Array(16)), termReq(true, 2),
]);

describe('PDU framing', () => {
  it('frames PDUs however the stream is split (every offset, one byte at a time)', () => {
    const whole = frameStream(hostStream, () => hostStream.length).pdus.map(([t, o]) => [t, o]);
    expect(whole.map(([t]) => t)).toEqual([0, 4, 4, 6, 4, 2]);
    for (let cut = 1; cut < hostStream.length; cut += cut < 300 ? 1 : 97) {
      const split = frameStream(hostStream, (i) => (i === 0 ? cut : hostStream.length));
      expect(split.pdus.map(([t, o]) => [t, o])).toEqual(whole);
      expect(split.skips).toEqual([]);
    }
    expect(frameStream(hostStream, () => 1).pdus.map(([t, o]) => [t, o])).toEqual(whole);
  });

  it('reports each PDU in the frame of its last byte', () => {
    const { pdus } = frameStream(concat([icReq(), ioCmd(2, 5, 100, 8)]), () => 90);
    // ICReq bytes 0..127 end in the second 90-byte piece; the command (bytes 128..199) in the third.
    expect(pdus.map(([, , f]) => f)).toEqual([2, 3]);
  });

  it('finds the first PDU boundary of a stream joined mid-PDU', () => {
    const tail = hostStream.subarray(200);
    const { pdus, skips } = frameStream(tail, () => 333, { inSync: false });
    const expected = frameStream(hostStream, () => 9999).pdus.filter(([, o]) => o >= 200).map(([t, o]) => [t, o - 200]);
    expect(pdus.map(([t, o]) => [t, o])).toEqual(expected);
    expect(skips[0]).toMatch(/^resync 0\+/);
  });

  it('skips garbage and resynchronises on plausible headers', () => {
    const garbage = new Uint8Array(300).map((_, i) => (i * 37 + 11) & 255);
    const stream = concat([ioCmd(2, 1, 0, 1), garbage, ioCmd(2, 2, 0, 1), ioCmd(2, 3, 0, 1), ioCmd(2, 4, 0, 1)]);
    const { pdus, skips } = frameStream(stream, () => 50);
    expect(pdus.map(([t, o]) => [t, o])).toEqual([[4, 0], [4, 372], [4, 444], [4, 516]]);
    expect(skips.join()).toMatch(/garbage|resync/);
  });

  it('never trusts a 4 GiB length', () => {
    const bad = ioCmd(2, 1, 0, 1);
    putU32(bad, 4, 0xffffffff, true);
    const { pdus } = frameStream(concat([bad, ioCmd(2, 2, 0, 1), ioCmd(2, 3, 0, 1), ioCmd(2, 4, 0, 1)]), () => 64);
    expect(pdus.map(([, o]) => o)).toEqual([72, 144, 216]);
  });
});

/** A decoder on one connection whose host is side 0 (port 5000 → 4420), collecting what it emits. */
function openDecoder() {
  // Every type's fields in one view: the tests read them by index.
  const pdus: PduRecord[] = [];
  const diags: StreamDiagnostic[] = [];
  const sink: PduSink = {
    connection() {}, packet() {}, tcpFlag() {}, closed() {},
    pdu: (p) => void pdus.push(p),
    diagnostic: (d) => void diags.push(d),
  };
  const d = new NvmeTcpDecoder(sink, { ports: [4420] });
  const tcp: TcpConnection = {
    id: 1, ipVersion: 4, endpoints: [{ address: '10.0.0.1', port: 5000 }, { address: '10.0.0.2', port: 4420 }],
    sides: [newSideFacts(), newSideFacts()],
    sawOpen: true, seqOrigin: [-1, -1], firstFrame: 1, firstTime: 0,
  };
  d.opened(tcp, undefined);
  return { d, tcp, pdus, diags };
}

function decodeConversation(host: Uint8Array[], ctrl: Uint8Array[]) {
  const { d, tcp, pdus, diags } = openDecoder();
  let frame = 1;
  const n = Math.max(host.length, ctrl.length);
  for (let i = 0; i < n; i++) {
    if (host[i]) d.data(tcp, 0, host[i], 0, host[i].length, ++frame, frame);
    if (ctrl[i]) d.data(tcp, 1, ctrl[i], 0, ctrl[i].length, ++frame, frame);
  }
  d.closed(tcp);
  return { pdus, diags };
}

describe('PDU decode', () => {
  it('decodes ICReq/ICResp, Connect with its data, the controller id, SQE and CQE fields', () => {
    const { pdus } = decodeConversation(
      [icReq({ hdgst: true, ddgst: true }), connectCmd(3, 1, 15000, 'nqn.host', 'nqn.sub'), ioCmd(1, 0x1234, 2 ** 40 + 5, 16)],
      [icResp({ hdgst: true, ddgst: true }), capsuleResp({ cid: 3, dw0: 0x42 }), capsuleResp({ cid: 0x1234, sct: 0, sc: 0x80, dnr: true, sqhd: 9 })],
    );
    expect(pdus.map((p) => [p.dir, p.typeName, p.cid])).toEqual([
      ['h2c', 'ICReq', undefined], ['c2h', 'ICResp', undefined], ['h2c', 'CapsuleCmd', 3], ['c2h', 'CapsuleResp', 3],
      ['h2c', 'CapsuleCmd', 0x1234], ['c2h', 'CapsuleResp', 0x1234],
    ]);
    expect(pdus[0].icreq).toMatchObject({ hdgst: true, ddgst: true });
    expect(pdus[2].sqe).toMatchObject({ opcode: 0x7f, fctype: 1, connect: { qid: 1, katoMs: 15000 } });
    expect(pdus[2].connectData).toMatchObject({ hostnqn: 'nqn.host', subnqn: 'nqn.sub', cntlid: 0xffff });
    expect(pdus[3].cqe?.dw0).toBe(0x42);
    expect(pdus[4].qid).toBe(1);
    expect(pdus[4].sqe).toMatchObject({ opcode: 1, nsid: 1, slba: 2 ** 40 + 5, nlb: 16 });
    expect(pdus[5].cqe).toMatchObject({ sct: 0, sc: 0x80, dnr: true, more: false, sqhd: 9 });
  });

  it('verifies header and data digests, and flags a bad one', () => {
    const good = c2hData(1, 0, new Uint8Array(100).fill(3), { hdgst: true, ddgst: true });
    const bad = c2hData(2, 0, new Uint8Array(100).fill(3), { hdgst: true, ddgst: true });
    bad[50] ^= 1;
    const { pdus } = decodeConversation([ioCmd(2, 1, 0, 1), ioCmd(2, 2, 0, 1)], [good, bad]);
    const data = pdus.filter((p) => p.typeName === 'C2HData');
    expect(data.map((p) => [p.hdgstOk, p.ddgstOk])).toEqual([[true, true], [true, false]]);
  });

  it('decodes an LBA range only for I/O queues: admin opcodes reuse the numbers', () => {
    const { pdus } = decodeConversation([connectCmd(0, 0, 5000, 'h', 's'), ioCmd(2, 5, 77, 8)], [capsuleResp({ cid: 0 })]);
    expect(pdus[2].sqe).toMatchObject({ opcode: 2, slba: undefined, nlb: undefined });
  });

  it('decodes what a header cut by the snapshot length holds, and nothing it does not', () => {
    const { d, tcp, pdus } = openDecoder();
    const write = capsuleCmd({ opcode: 1, cid: 9, nsid: 1, cdw10: 2100, cdw12: 7, dataLength: 4096 }, new Uint8Array(4096));
    const cut = (bytes: Uint8Array, keep: number, frame: number) => {
      d.data(tcp, 0, bytes, 0, keep, frame, frame);
      d.gap(tcp, 0, bytes.length - keep, frame, frame, 'snaplen');
    };
    cut(write, 62, 2); // CDW10–12 end at byte 60: SLBA and NLB are there
    cut(ioCmd(2, 10, 500, 8), 50, 3); // cut inside CDW10: no SLBA, no NLB
    cut(ioCmd(2, 11, 600, 8), 10, 4); // not even the CID
    d.data(tcp, 0, ioCmd(2, 12, 700, 8), 0, 72, 5, 5);
    expect(pdus.map((p) => [p.cid, p.sqe?.slba, p.sqe?.nlb, p.headerCaptured, p.incomplete ?? false])).toEqual([
      [9, 2100, 8, 62, true], [10, undefined, undefined, 50, true], [undefined, undefined, undefined, 10, true], [12, 700, 8, undefined, false],
    ]);
  });

  it('reads CQT and TBKAS from Identify Controller data', () => {
    const { pdus } = decodeConversation(
      [connectCmd(0, 0, 5000, 'h', 's'), identifyController(7)],
      [capsuleResp({ cid: 0, dw0: 1 }), concat([c2hData(7, 0, identifyData(1500, true).subarray(0, 2048), { last: false }), c2hData(7, 2048, identifyData(1500, true).subarray(2048))])],
    );
    const id = pdus.find((p) => p.identify)?.identify;
    expect(id).toMatchObject({ cqtMs: 1500, tbkas: true, cntlid: 1 });
  });

  it('decodes R2T, H2CData and TermReq, and flags rule breaks', () => {
    const success = c2hData(4, 0, new Uint8Array(8), { last: false, success: true });
    const { pdus } = decodeConversation([new Uint8Array(0), h2cData(4, 9, 0, new Uint8Array(8))], [r2t(4, 9, 0, 8), concat([success, termReq(false, 1)])]);
    expect(pdus.map((p) => p.typeName)).toEqual(['R2T', 'H2CData', 'C2HData', 'C2HTermReq']);
    expect(pdus[0].r2t).toEqual({ ttag: 9, r2to: 0, r2tl: 8 });
    expect(pdus[2].violation).toMatch(/SUCCESS but without LAST_PDU/);
    expect(pdus[3].term?.fes).toBe(1);
  });

  it('keeps framing through a loss inside a data payload, and marks that PDU incomplete', () => {
    const data = c2hData(1, 0, new Uint8Array(3000));
    const { d, tcp, pdus } = openDecoder();
    d.data(tcp, 1, data, 0, 1000, 2, 2);
    d.gap(tcp, 1, 1000, 3, 3, 'not-captured');
    const rest = concat([data.subarray(2000), capsuleResp({ cid: 1 })]);
    d.data(tcp, 1, rest, 0, rest.length, 4, 4);
    expect(pdus.map((p) => [p.typeName, p.incomplete ?? false, p.frame])).toEqual([['C2HData', true, 4], ['CapsuleResp', false, 4]]);
  });
});
