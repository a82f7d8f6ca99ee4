import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../common/errors.js';
import { pcapFile, pcapngFile, type PacketIn } from '../test-support/builders.js';
import { readCapture } from './capture-reader.js';
import type { CaptureRecord } from './types.js';
import { putU32 } from '../common/bytes.js';

interface Seen {
  frame: number;
  time: number;
  linkType: number;
  bytes: number[];
  origLen: number;
}

async function collect(file: Uint8Array, chunkSize = file.length || 1) {
  const seen: Seen[] = [];
  const sink = {
    record(r: CaptureRecord) {
      seen.push({ frame: r.frame, time: r.time, linkType: r.linkType, bytes: [...r.bytes.subarray(r.offset, r.offset + r.capLen)], origLen: r.origLen });
    },
  };
  async function* chunks() {
    for (let o = 0; o < file.length; o += chunkSize) yield file.subarray(o, o + chunkSize);
  }
  const result = await readCapture(chunks(), sink, { name: 'test' });
  return { seen, ...result };
}

const packets: PacketIn[] = [
  { time: 1790000000.123456, data: new Uint8Array([1, 2, 3]) },
  { time: 1790000001.5, data: new Uint8Array(70).fill(7), origLen: 100 },
  { time: 1790000002.000001, data: new Uint8Array([9]) },
];

describe('pcap', () => {
  for (const bigEndian of [false, true]) {
    for (const nanos of [false, true]) {
      it(`reads ${bigEndian ? 'big' : 'little'}-endian ${nanos ? 'nanosecond' : 'microsecond'} files`, async () => {
        const { seen, info, problem } = await collect(pcapFile(113, packets, { bigEndian, nanos }));
        expect(problem).toBeUndefined();
        expect(info).toMatchObject({ format: 'pcap', byteOrder: bigEndian ? 'big' : 'little', timeResolution: nanos ? 'ns' : 'us', linkTypes: [113], frames: 3 });
        expect(seen.map((s) => s.frame)).toEqual([1, 2, 3]);
        expect(seen[0].time).toBeCloseTo(1790000000.123456, 6);
        expect(seen[1]).toMatchObject({ linkType: 113, origLen: 100 });
        expect(seen[1].bytes).toHaveLength(70);
        expect(seen[2].bytes).toEqual([9]);
      });
    }
  }

  it('gives the same records whatever the chunking (every split size)', async () => {
    const file = pcapFile(1, packets);
    const whole = await collect(file);
    for (let size = 1; size <= file.length; size += size < 40 ? 1 : 13) {
      const split = await collect(file, size);
      expect(split.seen).toEqual(whole.seen);
    }
  });

  it('reports a file cut inside a record and keeps the records before it', async () => {
    const file = pcapFile(1, packets);
    const cut = file.subarray(0, file.length - 1);
    const { seen, problem } = await collect(cut);
    expect(seen).toHaveLength(2);
    expect(problem).toMatchObject({ kind: 'truncated', afterFrame: 2 });
    expect(problem!.byteOffset).toBe(24 + 16 + 3 + 16 + 70);
  });

  it('rejects an impossible record length with its byte offset', async () => {
    const file = pcapFile(1, packets);
    putU32(file, 24 + 16 + 3 + 8, 0x7fffffff, true);
    const { seen, problem } = await collect(file);
    expect(seen).toHaveLength(1);
    expect(problem).toMatchObject({ kind: 'corrupt', byteOffset: 24 + 16 + 3 });
  });
});

describe('pcapng', () => {
  it('reads several sections of both byte orders, interfaces with their own link type and resolution, SPB, unknown blocks', async () => {
    const file = pcapngFile([
      { interfaces: [{ linkType: 1 }, { linkType: 276, tsresol: 9 }], unknownBlock: true, packets: [
        { ...packets[0], iface: 0 }, { ...packets[1], iface: 1 },
      ] },
      { bigEndian: true, interfaces: [{ linkType: 101, tsresol: 3 }], packets: [{ time: 1790000003.25, data: new Uint8Array([5, 6]) }, { time: 0, data: new Uint8Array([8]), simple: true }] },
    ]);
    for (const size of [file.length, 1, 7, 64]) {
      const { seen, info, problem } = await collect(file, size);
      expect(problem).toBeUndefined();
      expect(info.format).toBe('pcapng');
      expect(info.linkTypes).toEqual([1, 276, 101]);
      expect(seen.map((s) => [s.frame, s.linkType])).toEqual([[1, 1], [2, 276], [3, 101], [4, 101]]);
      expect(seen[0].time).toBeCloseTo(packets[0].time, 6);
      expect(seen[1].time).toBeCloseTo(packets[1].time, 6);
      expect(seen[1].origLen).toBe(100);
      expect(seen[2].time).toBeCloseTo(1790000003.25, 3);
      expect(seen[3].bytes).toEqual([8]);
      // A simple packet block has no timestamp: it keeps the previous one.
      expect(seen[3].time).toBe(seen[2].time);
    }
  });

  it('gives a pcap and its pcapng copy identical timestamps', async () => {
    const a = await collect(pcapFile(1, packets));
    const b = await collect(pcapngFile([{ interfaces: [{ linkType: 1 }], packets }]));
    expect(b.seen.map((s) => s.time)).toEqual(a.seen.map((s) => s.time));
  });
});

describe('inputs', () => {
  it('detects gzip by its magic, not the name', async () => {
    const { seen, info } = await collect(gzipSync(pcapFile(1, packets)), 17);
    expect(info.compressed).toBe(true);
    expect(seen).toHaveLength(3);
  });

  it('keeps what a damaged gzip stream held', async () => {
    const gz = gzipSync(pcapFile(1, [...packets, ...packets, ...packets]));
    const { seen, problem } = await collect(gz.subarray(0, gz.length - 12));
    expect(problem?.kind).toBe('truncated');
    expect(seen.length).toBeGreaterThan(0);
  });

  it('passes on an error from the consumer of a gzip stream instead of calling the stream damaged', async () => {
    const gz = gzipSync(pcapFile(1, packets));
    const stop = new Error('consumer stopped');
    async function* chunks() {
      yield gz;
    }
    await expect(readCapture(chunks(), { record() {} }, { afterChunk: () => { throw stop; } })).rejects.toBe(stop);
  });

  it('rejects bytes that are not a capture, with the offset', async () => {
    await expect(collect(new TextEncoder().encode('hello world, not a capture'))).rejects.toThrow(/test: byte 0: not a pcap or pcapng capture \(starts with 68 65 6c 6c\)/);
    await expect(collect(new Uint8Array(0))).rejects.toThrow(CaptureError);
    await expect(collect(new Uint8Array([0xd4, 0xc3]))).rejects.toThrow(/too short/);
  });

  it('reads a named pipe (as `<(tcpdump -w -)` gives) without seeking', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvme-fifo-'));
    const fifo = join(dir, 'capture');
    execFileSync('mkfifo', [fifo]);
    const file = pcapFile(1, [...packets, ...packets]);
    const writer = createWriteStream(fifo);
    writer.end(file);
    let records = 0;
    const { info, problem } = await readCapture(fifo, { record: () => records++ });
    rmSync(dir, { recursive: true });
    expect(problem).toBeUndefined();
    expect([info.frames, records, info.bytesRead]).toEqual([6, 6, file.length]);
  });

  it('names missing files and directories', async () => {
    const sink = { record() {} };
    await expect(readCapture('/nonexistent/x.pcap', sink)).rejects.toThrow('/nonexistent/x.pcap: no such file');
    await expect(readCapture('/tmp', sink)).rejects.toThrow('/tmp: is a directory, not a capture file');
  });
});

describe('files are closed however the reading ends', () => {
  it('a file refused after its first chunk leaves no descriptor open', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ntt-fd-')), 'notes.txt');
    writeFileSync(file, 'this is not a capture\n');
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i++) await expect(readCapture(file, { record() {} })).rejects.toThrow(/not a pcap or pcapng capture/);
    expect(open()).toBe(before);
  });
});
