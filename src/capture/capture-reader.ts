import { u32le } from '../common/bytes.js';
import { createReadStream, readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { CaptureError } from '../common/errors.js';
import { PcapFramer } from './pcap.js';
import { PcapngFramer } from './pcapng.js';
import type { RecordFramer } from './record-framer.js';
import { CaptureFormatError, type BlockSink, type CaptureInfo, type CaptureProblem, type CaptureSink } from './types.js';

/** A path, '-' for standard input, or any stream of bytes (tests, library users). */
export type CaptureInput = string | AsyncIterable<Uint8Array>;

export interface ReadOptions {
  /** Called after each chunk with raw (possibly compressed) bytes read so far. */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** Name used in messages when the input is a stream. */
  name?: string;
  /** Awaited after each chunk: lets a consumer drain its output (back-pressure). */
  afterChunk?: () => Promise<void> | void;
  /** Sees every raw block (a capture writer). */
  blocks?: BlockSink;
}

export interface ReadResult {
  info: CaptureInfo;
  /** Set when the capture was damaged; everything before it was delivered. */
  problem?: CaptureProblem;
}

const CHUNK = 1 << 20;

export function inputName(input: CaptureInput, options: ReadOptions = {}): string {
  if (typeof input === 'string') return input === '-' ? '<stdin>' : input;
  return options.name ?? '<stream>';
}

/**
 * Reads a whole capture, pushing every record into `sink` synchronously.
 * Format (pcap/pcapng) and gzip compression are detected by magic bytes.
 */
export async function readCapture(input: CaptureInput, sink: CaptureSink, options: ReadOptions = {}): Promise<ReadResult> {
  const name = inputName(input, options);
  const info: CaptureInfo = {
    format: 'unknown', compressed: false, timeResolution: 'unknown', byteOrder: 'unknown', linkTypes: [], bytesRead: 0, frames: 0,
  };
  const feeder = new FormatFeeder(name, sink, info, options.blocks);
  let opened: AsyncIterator<Uint8Array> | undefined;
  try {
    const { chunks, totalBytes } = await openChunks(input, name);
    opened = chunks;
    const first = await chunks.next();
    if (first.done) throw new CaptureError(name, 0, 'empty file: not a pcap or pcapng capture');
    const rawBytes = first.value.length;
    const gzip = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
    const damaged = gzip
      ? await feedGzip(first.value, chunks, feeder, info, options, totalBytes, rawBytes)
      : await feedPlain(first.value, chunks, feeder, options, totalBytes);
    if (damaged) return { info, problem: damaged };
    if (!feeder.started) {
      throw new CaptureError(name, 0, 'empty file: not a pcap or pcapng capture');
    }
    return { info, problem: feeder.finish() };
  } catch (error) {
    if (error instanceof CaptureFormatError) {
      if (info.frames === 0) throw new CaptureError(name, error.byteOffset, error.message);
      return { info, problem: feeder.damage('corrupt', error.message, error.byteOffset) };
    }
    if (error instanceof CaptureError) throw error;
    const e = error as NodeJS.ErrnoException;
    if (e.code) {
      if (info.frames > 0) return { info, problem: feeder.damage('read-error', describeFsError(e)) };
      throw new CaptureError(name, undefined, describeFsError(e));
    }
    throw error;
  } finally {
    info.bytesRead = feeder.bytesFed;
    // However the reading ended (a bad header stops it after one chunk), the file is closed now, not by the GC.
    await opened?.return?.(undefined).catch(() => undefined);
  }
}

/** A gzip-compressed capture, inflated as it is read; a damaged compressed stream ends it with what was read. */
async function feedGzip(
  first: Uint8Array, chunks: AsyncIterator<Uint8Array>, feeder: FormatFeeder, info: CaptureInfo, options: ReadOptions, totalBytes: number | undefined, rawBytes: number,
): Promise<CaptureProblem | undefined> {
  info.compressed = true;
  const gunzip = createGunzip();
  pumpInto(first, chunks, gunzip, (n) => {
    rawBytes += n;
    options.onProgress?.(rawBytes, totalBytes);
  });
  try {
    for await (const chunk of gunzip) {
      feeder.push(chunk as Uint8Array);
      await options.afterChunk?.();
    }
  } catch (error) {
    // Only zlib's own errors (codes Z_*) mean the compressed stream is damaged.
    const fromZlib = /^Z_/.test(String((error as NodeJS.ErrnoException).code));
    if (!fromZlib || !feeder.started) throw error;
    return feeder.damage('truncated', `gzip stream is damaged (${(error as Error).message})`);
  }
  return undefined;
}

/** An uncompressed capture, chunk by chunk. */
async function feedPlain(first: Uint8Array, chunks: AsyncIterator<Uint8Array>, feeder: FormatFeeder, options: ReadOptions, totalBytes: number | undefined): Promise<undefined> {
  let rawBytes = first.length;
  feeder.push(first);
  options.onProgress?.(rawBytes, totalBytes);
  await options.afterChunk?.();
  for (;;) {
    const next = await chunks.next();
    if (next.done) return undefined;
    rawBytes += next.value.length;
    feeder.push(next.value);
    options.onProgress?.(rawBytes, totalBytes);
    await options.afterChunk?.();
  }
}

/** Picks the framer from the first four bytes, then feeds it. */
class FormatFeeder {
  private framer: RecordFramer | undefined;
  private head = new Uint8Array(4);
  private headLen = 0;
  bytesFed = 0;

  constructor(
    private readonly name: string,
    private readonly sink: CaptureSink,
    private readonly info: CaptureInfo,
    private readonly blocks?: BlockSink,
  ) {}

  get started(): boolean {
    return this.bytesFed > 0;
  }

  push(chunk: Uint8Array): void {
    this.bytesFed += chunk.length;
    if (!this.framer) {
      const take = Math.min(4 - this.headLen, chunk.length);
      this.head.set(chunk.subarray(0, take), this.headLen);
      this.headLen += take;
      if (this.headLen < 4) return;
      this.framer = this.pickFramer();
      this.framer.push(this.head);
      chunk = chunk.subarray(take);
    }
    this.framer.push(chunk);
  }

  /** At end of input: a record left incomplete means the file was cut. */
  finish(): CaptureProblem | undefined {
    if (!this.framer) throw new CaptureError(this.name, 0, `file of ${this.bytesFed} bytes is too short to be a capture`);
    if (this.framer.leftover === 0) return undefined;
    if (this.info.format === 'unknown' || (this.info.frames === 0 && this.framer.offset === 0)) {
      throw new CaptureError(this.name, 0, 'file ends inside the capture file header');
    }
    return this.damage('truncated', `capture ends inside a record (${this.framer.leftover} bytes of it present)`);
  }

  damage(kind: CaptureProblem['kind'], message: string, byteOffset?: number): CaptureProblem {
    return { kind, byteOffset: byteOffset ?? this.framer?.offset ?? 0, afterFrame: this.info.frames, message };
  }

  private pickFramer(): RecordFramer {
    const h = this.head;
    const le = u32le(h, 0);
    if (le === 0x0a0d0d0a) return new PcapngFramer(this.sink, this.info, this.blocks);
    if (le === 0xa1b2c3d4 || le === 0xa1b23c4d || le === 0xd4c3b2a1 || le === 0x4d3cb2a1) {
      return new PcapFramer(this.sink, this.info, this.blocks);
    }
    const shown = Array.from(h, (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CaptureError(this.name, 0, `not a pcap or pcapng capture (starts with ${shown})`);
  }
}

async function openChunks(input: CaptureInput, name: string): Promise<{ chunks: AsyncIterator<Uint8Array>; totalBytes?: number }> {
  if (typeof input !== 'string') return { chunks: iterate(input) };
  if (input === '-') return { chunks: iterate(process.stdin) };
  const st = await stat(input);
  if (st.isDirectory()) throw new CaptureError(name, undefined, 'is a directory, not a capture file');
  // A named pipe or `<(tcpdump -w -)` is read as a stream: it cannot seek and a blocking read would stall the event loop.
  if (!st.isFile()) return { chunks: iterate(createReadStream(input, { highWaterMark: CHUNK })) };
  const handle = await open(input, 'r');
  return { chunks: fileChunks(handle), totalBytes: st.size };
}

/**
 * Reads a regular file in large blocks into one reused buffer. The reads are
 * synchronous: a page-cache copy of 1 MiB takes ~60 µs, less than handing it
 * to libuv's thread pool and back (measured slower on two cores: docs/performance.md).
 * Records are borrowed only until the next push, so the buffer is
 * free again as soon as its block has been pushed.
 */
async function* fileChunks(handle: FileHandle): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(CHUNK);
  try {
    for (;;) {
      const bytesRead = readSync(handle.fd, buffer, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

function iterate(source: AsyncIterable<Uint8Array>): AsyncIterator<Uint8Array> {
  return source[Symbol.asyncIterator]();
}

/** Writes the first chunk and the rest of the raw stream into gunzip, with back-pressure. */
function pumpInto(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
  gunzip: ReturnType<typeof createGunzip>,
  onRaw: (n: number) => void,
): void {
  const raw = Readable.from(
    (async function* () {
      // Copies: the file reader reuses its buffer, gunzip may hold input.
      yield Buffer.from(first);
      for (;;) {
        const next = await rest.next();
        if (next.done) return;
        onRaw(next.value.length);
        yield Buffer.from(next.value);
      }
    })(),
  );
  raw.on('error', (error) => gunzip.destroy(error));
  raw.pipe(gunzip);
}

function describeFsError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a capture file';
    default:
      return e.message;
  }
}
