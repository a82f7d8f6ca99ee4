import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { runPipeline } from '../src/api/pipeline.js';
import { listPdus } from '../src/api/list-pdus.js';
import type { NvmeConnection, PduEvent, PduSink } from '../src/nvme-tcp/types.js';
import {
  c2hData, capsuleCmd, capsuleResp, concat, connectCmd, F, frame, h2cData, icReq, icResp, ioCmd, ipPacket, pcapFile, r2t,
  type PacketIn,
} from '../src/test-support/builders.js';

/**
 * Generated conversations through the whole pipeline: PDUs cut into random
 * segments, then segments dropped (capture loss), duplicated (retransmission),
 * swapped (reordering) and garbage mixed into the stream.
 */
const pduArb = fc.oneof(
  fc.record({ kind: fc.constant('read' as const), cid: fc.integer({ min: 0, max: 7 }), size: fc.integer({ min: 1, max: 9000 }) }),
  fc.record({ kind: fc.constant('write' as const), cid: fc.integer({ min: 0, max: 7 }), size: fc.integer({ min: 1, max: 9000 }) }),
  fc.record({ kind: fc.constant('inline' as const), cid: fc.integer({ min: 0, max: 7 }), size: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({ kind: fc.constant('garbage' as const), cid: fc.constant(0), size: fc.integer({ min: 1, max: 300 }) }),
);

interface Seg {
  fromHost: boolean;
  seq: number;
  payload: Uint8Array;
}

function conversation(ops: { kind: string; cid: number; size: number }[], cuts: number[], garbageByte: number): { host: Uint8Array; ctrl: Uint8Array } {
  const host: Uint8Array[] = [icReq(), connectCmd(0, 1, 0, 'nqn.h', 'nqn.s', 1)];
  const ctrl: Uint8Array[] = [icResp(), capsuleResp({ cid: 0 })];
  for (const op of ops) {
    const data = new Uint8Array(op.size).fill(op.cid);
    if (op.kind === 'read') {
      host.push(ioCmd(2, op.cid, op.cid * 100, Math.ceil(op.size / 512)));
      ctrl.push(c2hData(op.cid, 0, data), capsuleResp({ cid: op.cid }));
    } else if (op.kind === 'write') {
      host.push(ioCmd(1, op.cid, op.cid * 100, Math.ceil(op.size / 512)), h2cData(op.cid, 1, 0, data));
      ctrl.push(r2t(op.cid, 1, 0, op.size), capsuleResp({ cid: op.cid }));
    } else if (op.kind === 'inline') {
      host.push(capsuleCmd({ opcode: 1, cid: op.cid, nsid: 1, dataLength: op.size }, data));
      ctrl.push(capsuleResp({ cid: op.cid }));
    } else {
      (cuts.length % 2 ? host : ctrl).push(new Uint8Array(op.size).fill(garbageByte));
    }
  }
  return { host: concat(host), ctrl: concat(ctrl) };
}

function segments(stream: Uint8Array, fromHost: boolean, sizes: number[]): Seg[] {
  const out: Seg[] = [];
  let i = 0;
  for (let o = 0; o < stream.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    out.push({ fromHost, seq: 1000 + o, payload: stream.subarray(o, o + n) });
    o += n;
  }
  return out;
}

/** How a generated conversation ends, and which holes the receiver confirms by acknowledging past them. */
interface Ending {
  /** FIN, RST at the sender's next byte, RST behind what the receiver acknowledged, or none. */
  kind: 'none' | 'fin' | 'rst' | 'rst-out-of-window';
  /** Position in the segment list where the flag is sent, and by whom. */
  at: number;
  fromHost: boolean;
  /** Positions after which the other side acknowledges everything sent so far. */
  acks: number[];
}

/** Payload bytes the capture's segments carry per direction (host, controller): what accounting must explain. */
interface Carried {
  host: number;
  ctrl: number;
}

function capture(segs: Seg[], mangle: { drop: number[]; dup: number[]; swap: number[] }, ending?: Ending, carried?: Carried): Uint8Array {
  let list = segs.slice();
  for (const i of mangle.swap) if (i + 1 < list.length) [list[i], list[i + 1]] = [list[i + 1], list[i]];
  for (const i of mangle.dup) if (i < list.length) list.splice(i, 0, list[i]);
  const dropped = new Set(mangle.drop.filter((i) => i < list.length && i > 1));
  list = list.filter((_, i) => !dropped.has(i));
  const packets: PacketIn[] = [];
  let t = 1_790_000_000;
  const tcp = (fromHost: boolean, seq: number, flags: number, payload?: Uint8Array, ack = 0) =>
    packets.push({ time: (t += 0.0001), data: frame('ethernet', ipPacket({ src: fromHost ? '10.0.0.1' : '10.0.0.2', dst: fromHost ? '10.0.0.2' : '10.0.0.1', sport: fromHost ? 40000 : 4420, dport: fromHost ? 4420 : 40000, seq, ack, flags, payload })) });
  tcp(true, 999, F.SYN);
  tcp(false, 999, F.SYN | F.ACK);
  // How far each side's stream had been sent at each point of the capture: a FIN or RST carries
  // that sequence number, so the side's later segments (reordered, or sent regardless) lie past its end.
  const sent = { host: 1000, ctrl: 1000 };
  list.forEach((x, i) => {
    const key = x.fromHost ? 'host' : 'ctrl';
    sent[key] = Math.max(sent[key], x.seq + x.payload.length);
    tcp(x.fromHost, x.seq, F.ACK | F.PSH, x.payload);
    if (carried) carried[x.fromHost ? 'host' : 'ctrl'] += x.payload.length;
    if (!ending) return;
    if (ending.acks.includes(i)) {
      // Acknowledges the whole stream so far (original order): any hole the capture has is confirmed.
      const sent = Math.max(1000, ...segs.slice(0, segs.indexOf(x) + 1).filter((y) => y.fromHost === x.fromHost).map((y) => y.seq + y.payload.length));
      tcp(!x.fromHost, 1000, F.ACK, undefined, sent);
    }
    if (i === ending.at && ending.kind !== 'none') {
      const seq = ending.fromHost ? sent.host : sent.ctrl;
      if (ending.kind === 'fin') tcp(ending.fromHost, seq, F.FIN | F.ACK);
      else if (ending.kind === 'rst') tcp(ending.fromHost, seq, F.RST | F.ACK);
      else tcp(ending.fromHost, 1000 - 5000, F.RST | F.ACK);
    }
  });
  return pcapFile(1, packets);
}

const scenario = fc.record({
  ops: fc.array(pduArb, { minLength: 1, maxLength: 12 }),
  hostCuts: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
  ctrlCuts: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
  drop: fc.array(fc.nat(60), { maxLength: 3 }),
  dup: fc.array(fc.nat(60), { maxLength: 3 }),
  swap: fc.array(fc.nat(60), { maxLength: 3 }),
  garbageByte: fc.integer({ min: 0, max: 255 }),
  ending: fc.record({
    kind: fc.constantFrom('none' as const, 'fin' as const, 'rst' as const, 'rst-out-of-window' as const),
    at: fc.nat(60), fromHost: fc.boolean(), acks: fc.array(fc.nat(60), { maxLength: 3 }),
  }),
});

type Generated = ReturnType<typeof scenario.generate>['value'];

function build(s: Generated, carried?: Carried) {
  const { host, ctrl } = conversation(s.ops, s.hostCuts, s.garbageByte);
  const segs = [...segments(host, true, s.hostCuts), ...segments(ctrl, false, s.ctrlCuts)];
  return capture(segs, { drop: s.drop, dup: s.dup, swap: s.swap }, s.ending, carried);
}

const NO_ENDING: Ending = { kind: 'none', at: 0, fromHost: true, acks: [] };

async function* once(bytes: Uint8Array) {
  yield bytes;
}

describe('pipeline invariants on generated conversations', () => {
  it('every byte a segment carried is delivered, duplicate, cut or after its end; every stream byte is decoded, skipped or lost; PDU frames never go back in time per direction', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const carried: Carried = { host: 0, ctrl: 0 };
        const bytes = build(s, carried);
        const lastFrame = new Map<string, number>();
        const problems: string[] = [];
        const sink: PduSink = {
          connection() {}, packet() {}, tcpFlag() {}, diagnostic() {},
          pdu(p: PduEvent) {
            const key = `${p.conn}:${p.dir}`;
            if (p.frame < (lastFrame.get(key) ?? 0)) problems.push(`frame ${p.frame} after ${lastFrame.get(key)}`);
            if (p.firstFrame > p.frame) problems.push(`firstFrame ${p.firstFrame} > frame ${p.frame}`);
            lastFrame.set(key, p.frame);
          },
          closed(conn: NvmeConnection) {
            for (const side of [0, 1] as const) {
              const a = conn.bytes![side];
              const f = conn.tcp.sides[side];
              const total = f.bytesDelivered + f.bytesLost;
              if (a.pdu + a.skipped + a.lost !== total) problems.push(`side ${side}: pdu ${a.pdu} + skipped ${a.skipped} + lost ${a.lost} != ${total}`);
              const sent = side === (conn.hostSide ?? 0) ? carried.host : carried.ctrl;
              const explained = f.bytesDelivered + f.bytesDuplicate + f.bytesAfterEnd + f.bytesCut;
              if (explained !== sent) {
                problems.push(`side ${side}: carried ${sent} != delivered ${f.bytesDelivered} + duplicate ${f.bytesDuplicate} + after end ${f.bytesAfterEnd} + cut ${f.bytesCut}`);
              }
            }
          },
        };
        await runPipeline(once(bytes), sink, { name: 'gen.pcap' });
        expect(problems).toEqual([]);
      }),
      {
        numRuns: Number(process.env.PROPERTY_RUNS ?? 300),
        // Fixed so CI is repeatable; set PROPERTY_SEED (and PROPERTY_RUNS) to explore further.
        seed: Number(process.env.PROPERTY_SEED ?? 20261125),
        // Found by this property: bytes replayed by a final resync that ended in a new hunt went unaccounted.
        examples: [[{ ops: [{ kind: 'garbage', cid: 0, size: 1 }, { kind: 'inline', cid: 0, size: 1 }, { kind: 'garbage', cid: 0, size: 8 }], hostCuts: [1, 1], ctrlCuts: [1], drop: [], dup: [], swap: [], garbageByte: 3, ending: NO_ENDING }]],
      },
    );
  });

  it('no command completes twice, and clean conversations complete every command', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.boolean(), async (s, clean) => {
        const input = clean ? { ...s, drop: [], dup: [], swap: [], ops: s.ops.filter((o) => o.kind !== 'garbage'), ending: NO_ENDING } : s;
        const bytes = build(input);
        // Completions seen on the wire, per connection and CID: no more commands may end completed than these.
        const answers = new Map<string, number>();
        await listPdus(once(bytes), (p) => {
          if ((p.typeName === 'CapsuleResp' && p.cqe) || (p.typeName === 'C2HData' && p.data?.success)) answers.set(`${p.conn}:${p.cid}`, (answers.get(`${p.conn}:${p.cid}`) ?? 0) + 1);
        }, { includeIncomplete: true });
        const done = new Map<string, number>();
        let completed = 0;
        const report = await analyzeCapture(once(bytes), {
          name: 'gen.pcap',
          onCommand: (c) => {
            if (c.outcome !== 'completed' && c.outcome !== 'error') return;
            done.set(`${c.conn}:${c.cid}`, (done.get(`${c.conn}:${c.cid}`) ?? 0) + 1);
            if (c.outcome === 'completed') completed++;
          },
        });
        for (const [key, n] of done) expect(n, key).toBeLessThanOrEqual(answers.get(key) ?? 0);
        if (clean) {
          // CIDs may repeat in a generated script: a reuse before completion is a finding, not a completion.
          const reuse = report.findings.filter((f) => f.ruleId === 'cid-reuse-in-flight').length;
          expect(completed + reuse).toBe(input.ops.length + 1);
        }
      }),
      {
        numRuns: Number(process.env.PROPERTY_RUNS ?? 200),
        seed: Number(process.env.PROPERTY_SEED ?? 20261125),
        // Found by this property: a data PDU whose header was cut by a loss crashed correlation.
        examples: [[{ ops: [{ kind: 'read', cid: 0, size: 1 }, { kind: 'read', cid: 0, size: 1 }, { kind: 'read', cid: 0, size: 1 }, { kind: 'write', cid: 0, size: 1 }, { kind: 'garbage', cid: 0, size: 1 }], hostCuts: [1, 1518], ctrlCuts: [1], drop: [3], dup: [], swap: [], garbageByte: 0, ending: NO_ENDING }, false]],
      },
    );
  });
});
