import { describe, expect, it } from 'vitest';
import { F } from '../test-support/builders.js';
import type { TcpSegment } from '../decode/types.js';
import { TcpReassembler } from './tcp-reassembler.js';
import type { Side, StreamSink, TcpConnection } from './types.js';

/** One captured segment: side A (0) is 10.0.0.1:1000, side B (1) is 10.0.0.2:4420. */
interface Seg {
  from: 'A' | 'B';
  seq: number;
  ack?: number;
  flags?: number;
  data?: string;
  /** Payload bytes the capture cut off after `data`. */
  missing?: number;
  /** Capture time in seconds; the segment's index when absent. */
  time?: number;
}

function run(segments: Seg[], limit = 1 << 20): string[] {
  return runWith(segments, limit).events;
}

function runWith(segments: Seg[], limit = 1 << 20) {
  const events: string[] = [];
  const conns: TcpConnection[] = [];
  const sink: StreamSink = {
    opened: (c) => (events.push(`open ${c.id}`), conns.push(c), true),
    packet: (c, side, _f, _t, acked) => void (acked >= 0 && events.push(`${c.id}${'AB'[side]} acks ${'AB'[side ^ 1]}@${acked}`)),
    data: (c: TcpConnection, side: Side, b: Uint8Array, o: number, n: number, frame: number) => (events.push(`${c.id}${'AB'[side]} data ${new TextDecoder().decode(b.subarray(o, o + n))} @${frame}`), true),
    gap: (c, side, n, frame, _t, cause) => void events.push(`${c.id}${'AB'[side]} gap ${n} @${frame}${cause === 'snaplen' ? ' snaplen' : ''}`),
    flag: (c, side, kind, _f, _t, outOfWindow) => void events.push(`${c.id}${'AB'[side]} ${kind}${outOfWindow ? ' out-of-window' : ''}`),
    ended: (c, side, frame) => void events.push(`${c.id}${'AB'[side]} ended @${frame}`),
    afterEnd: (c, side, n, frame) => void events.push(`${c.id}${'AB'[side]} after-end ${n} @${frame}`),
    closed: (c) => void events.push(`close ${c.id}`),
  };
  const r = new TcpReassembler(sink, { maxBufferedBytesPerSide: limit, lingerSeconds: 300 });
  segments.forEach((s, i) => {
    const payload = new TextEncoder().encode(s.data ?? '');
    const a = s.from === 'A';
    const seg: TcpSegment = {
      frame: i + 1, time: s.time ?? i, ipVersion: 4, src0: 0, src1: 0, src2: 0, src3: a ? 1 : 2, dst0: 0, dst1: 0, dst2: 0, dst3: a ? 2 : 1,
      srcPort: a ? 1000 : 4420, dstPort: a ? 4420 : 1000, seq: s.seq >>> 0, ack: (s.ack ?? 0) >>> 0, flags: s.flags ?? F.ACK,
      bytes: payload, payloadOffset: 0, payloadLength: payload.length, payloadMissing: s.missing ?? 0,
    };
    r.segment(seg);
  });
  r.finish();
  return { events: events.filter((e) => !e.includes(' acks ')), acks: events.filter((e) => e.includes(' acks ')), conns };
}

const open: Seg[] = [{ from: 'A', seq: 99, flags: F.SYN }, { from: 'B', seq: 499, flags: F.SYN | F.ACK, ack: 100 }];

describe('TCP reassembly', () => {
  const table: { name: string; segs: Seg[]; want: string[] }[] = [
    {
      name: 'in order',
      segs: [...open, { from: 'A', seq: 100, data: 'abc' }, { from: 'A', seq: 103, data: 'def' }],
      want: ['open 1', '1A syn', '1B syn', '1A data abc @3', '1A data def @4', 'close 1'],
    },
    {
      name: 'reorder: held until the hole fills, delivered with the filling frame',
      segs: [...open, { from: 'A', seq: 103, data: 'def' }, { from: 'A', seq: 100, data: 'abc' }],
      want: ['open 1', '1A syn', '1B syn', '1A data abc @4', '1A data def @4', 'close 1'],
    },
    {
      name: 'retransmission is trimmed: first copy wins',
      segs: [...open, { from: 'A', seq: 100, data: 'abc' }, { from: 'A', seq: 100, data: 'XYZ' }, { from: 'A', seq: 103, data: 'd' }],
      want: ['open 1', '1A syn', '1B syn', '1A data abc @3', '1A data d @5', 'close 1'],
    },
    {
      name: 'overlap delivers only new bytes',
      segs: [...open, { from: 'A', seq: 100, data: 'abcd' }, { from: 'A', seq: 102, data: 'CDef' }],
      want: ['open 1', '1A syn', '1B syn', '1A data abcd @3', '1A data ef @4', 'close 1'],
    },
    {
      name: 'gap confirmed by the receiver acknowledging past it',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'A', seq: 110, data: 'kl' }, { from: 'B', seq: 500, ack: 112 }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A gap 8 @5', '1A data kl @5', 'close 1'],
    },
    {
      name: 'gap already acknowledged when the later segment arrives',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'B', seq: 500, ack: 110 }, { from: 'A', seq: 110, data: 'kl' }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A gap 8 @5', '1A data kl @5', 'close 1'],
    },
    {
      name: 'a hole before a FIN stays open for a retransmission until the capture ends',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'A', seq: 105, data: 'fg' }, { from: 'A', seq: 107, flags: F.FIN | F.ACK }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A fin', '1A gap 3 @5', '1A data fg @5', 'close 1'],
    },
    {
      name: 'RST ends only its sender\'s direction: what the other side had in flight is still delivered',
      segs: [...open, { from: 'A', seq: 100, data: 'cmd' }, { from: 'A', seq: 103, flags: F.RST }, { from: 'B', seq: 500, data: 'resp' }],
      want: ['open 1', '1A syn', '1B syn', '1A data cmd @3', '1A rst', '1A ended @4', '1B data resp @5', 'close 1'],
    },
    {
      name: 'bytes its sender sends after its own RST are counted, not delivered',
      segs: [...open, { from: 'B', seq: 500, data: 'x' }, { from: 'B', seq: 501, flags: F.RST }, { from: 'B', seq: 501, data: 'late' }],
      want: ['open 1', '1A syn', '1B syn', '1B data x @3', '1B rst', '1B ended @4', '1B after-end 4 @5', 'close 1'],
    },
    {
      name: 'an RST behind what the receiver acknowledged is out of its window and ends nothing',
      segs: [...open, { from: 'A', seq: 100, data: 'abc' }, { from: 'B', seq: 500, ack: 103 }, { from: 'A', seq: 90, flags: F.RST },
        { from: 'A', seq: 103, data: 'def' }],
      want: ['open 1', '1A syn', '1B syn', '1A data abc @3', '1A rst out-of-window', '1A data def @6', 'close 1'],
    },
    {
      name: 'an RST far beyond any window is out of window too',
      segs: [...open, { from: 'A', seq: 100, data: 'abc' }, { from: 'A', seq: 100 + 0x40000000, flags: F.RST }, { from: 'B', seq: 500, data: 'r' }],
      want: ['open 1', '1A syn', '1B syn', '1A data abc @3', '1A rst out-of-window', '1B data r @5', 'close 1'],
    },
    {
      name: 'an RST declares what its sender sent and the capture lacks lost',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'A', seq: 105, data: 'fg' }, { from: 'A', seq: 109, flags: F.RST }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A rst', '1A gap 3 @5', '1A data fg @5', '1A gap 2 @5', '1A ended @5', 'close 1'],
    },
    {
      name: 'a retransmission after the FIN fills the hole before it',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'A', seq: 105, data: 'fg' }, { from: 'A', seq: 107, flags: F.FIN | F.ACK },
        { from: 'A', seq: 102, data: 'cde' }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A fin', '1A data cde @6', '1A data fg @6', '1A ended @6', 'close 1'],
    },
    {
      name: 'a hole before a FIN is lost once the receiver acknowledges the FIN',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'A', seq: 105, flags: F.FIN | F.ACK }, { from: 'B', seq: 500, ack: 106 }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A fin', '1A gap 3 @5', '1A ended @5', 'close 1'],
    },
    {
      name: 'bytes beyond the FIN\'s sequence number come after the end',
      segs: [...open, { from: 'A', seq: 100, data: 'ab' }, { from: 'A', seq: 102, flags: F.FIN | F.ACK }, { from: 'A', seq: 102, data: 'zz' }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A fin', '1A ended @4', '1A after-end 2 @5', 'close 1'],
    },
    {
      name: 'both sides ended: the last ACK still belongs to the connection, which closes after TIME_WAIT',
      segs: [...open, { from: 'A', seq: 100, flags: F.FIN | F.ACK, time: 3 }, { from: 'B', seq: 500, flags: F.FIN | F.ACK, ack: 101, time: 4 },
        { from: 'A', seq: 101, ack: 501, time: 5 }, { from: 'B', seq: 9000, data: 'other', time: 80 }],
      want: ['open 1', '1A syn', '1B syn', '1A fin', '1A ended @3', '1B fin', '1B ended @4', 'close 1', 'open 2', '2A data other @6', 'close 2'],
    },
    {
      name: 'one side ended: the connection closes after the linger time of silence',
      segs: [...open, { from: 'A', seq: 100, flags: F.RST, time: 10 }, { from: 'B', seq: 500, data: 'x', time: 200 },
        { from: 'B', seq: 501, data: 'y', time: 420 }, { from: 'A', seq: 7000, flags: F.SYN, time: 800 }],
      want: ['open 1', '1A syn', '1B syn', '1A rst', '1A ended @3', '1B data x @4', '1B data y @5', 'close 1', 'open 2', '2A syn', 'close 2'],
    },
    {
      name: 'sequence numbers wrap around 2^32',
      segs: [{ from: 'A', seq: 0xfffffffd, flags: F.SYN }, { from: 'A', seq: 0xfffffffe, data: 'ab' }, { from: 'A', seq: 0, data: 'cd' }],
      want: ['open 1', '1A syn', '1A data ab @2', '1A data cd @3', 'close 1'],
    },
    {
      name: 'snaplen-cut payload: captured bytes then a gap',
      segs: [...open, { from: 'A', seq: 100, data: 'ab', missing: 3 }, { from: 'A', seq: 105, data: 'f' }],
      want: ['open 1', '1A syn', '1B syn', '1A data ab @3', '1A gap 3 @3 snaplen', '1A data f @4', 'close 1'],
    },
    {
      name: 'joined mid-stream: the first byte seen is the origin',
      segs: [{ from: 'B', seq: 7000, data: 'mid' }, { from: 'B', seq: 7003, data: 'dle' }],
      want: ['open 1', '1A data mid @1', '1A data dle @2', 'close 1'],
    },
    {
      name: 'a new SYN on a closed 4-tuple starts a new connection',
      segs: [...open, { from: 'A', seq: 100, flags: F.RST }, { from: 'A', seq: 900, flags: F.SYN }, { from: 'A', seq: 901, data: 'new' }],
      want: ['open 1', '1A syn', '1B syn', '1A rst', '1A ended @3', 'close 1', 'open 2', '2A syn', '2A data new @5', 'close 2'],
    },
    {
      name: 'buffer limit: the hole is given up instead of growing',
      segs: [...open, { from: 'A', seq: 110, data: 'abcdef' }, { from: 'A', seq: 116, data: 'ghijkl' }],
      want: ['open 1', '1A syn', '1B syn', '1A gap 10 @4', '1A data abcdef @4', '1A data ghijkl @4', 'close 1'],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      expect(run(t.segs, t.name.startsWith('buffer limit') ? 8 : 1 << 20)).toEqual(t.want);
    });
  }
});

describe('acknowledgements as stream offsets', () => {
  it('maps each ACK to the offset it covers in the other direction, across a gap and a wrap', () => {
    const { acks } = runWith([
      { from: 'A', seq: 0xfffffff0, flags: F.SYN }, { from: 'B', seq: 499, flags: F.SYN | F.ACK, ack: 0xfffffff1 },
      { from: 'A', seq: 0xfffffff1, data: 'abcdefghijklmnopqrst' }, { from: 'B', seq: 500, ack: 0x5 },
      { from: 'A', seq: 0x0f, data: 'xy' }, { from: 'B', seq: 500, ack: 0x0d },
    ]);
    // 20 bytes from 0xfffffff1 end at 0x5; then 10 bytes missing; the ACK of 0x0d covers offset 28.
    expect(acks).toEqual(['1B acks A@0', '1B acks A@20', '1B acks A@28']);
  });
});
