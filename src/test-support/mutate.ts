/**
 * Deterministic mutated captures for robustness testing: input number i of a
 * seed is always the same bytes, so a failure found after a million inputs is
 * reproduced from (seed, i) alone.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyzeCapture } from '../api/analyze-capture.js';
import { readCapture } from '../capture/capture-reader.js';
import { CaptureError } from '../common/errors.js';
import { pcapFile, pcapngFile, type PacketIn } from './builders.js';
import { putU32 } from '../common/bytes.js';

/** mulberry32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Corpus {
  name: string;
  linkType: number;
  packets: PacketIn[];
}

/** The real captures of a folder (large-io.pcap left out: one input of it would take as long as hundreds). */
export async function loadCorpus(dir: string): Promise<Corpus[]> {
  const out: Corpus[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.pcap') && f !== 'large-io.pcap').sort()) {
    const c: Corpus = { name, linkType: 1, packets: [] };
    await readCapture(join(dir, name), {
      record(r) {
        c.linkType = r.linkType;
        c.packets.push({ time: r.time, data: r.bytes.slice(r.offset, r.offset + r.capLen), origLen: r.origLen });
      },
    });
    out.push(c);
  }
  return out;
}

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** Builds input `index` of `seed`: a window of a real capture, re-encoded, then 1–6 byte-level mutations. */
export function mutatedInput(corpus: Corpus[], seed: number, index: number): Uint8Array {
  const rnd = prng((seed * 2654435761) ^ index);
  const int = (n: number) => Math.floor(rnd() * n);
  const source = corpus[int(corpus.length)];
  const start = int(source.packets.length);
  const window = source.packets.slice(start, start + 5 + int(300));
  const format = int(10);
  let bytes = format < 5 ? pcapFile(source.linkType, window, { bigEndian: format === 1, nanos: format === 2 })
    : pcapngFile([{ bigEndian: format === 6, interfaces: [{ linkType: source.linkType }], packets: window }]);
  const mutations = 1 + int(6);
  for (let m = 0; m < mutations && bytes.length > 0; m++) {
    const at = int(bytes.length);
    switch (int(7)) {
      case 0:
        bytes[at] ^= 1 << int(8);
        break;
      case 1:
        bytes[at] = int(256);
        break;
      case 2: {
        if (at + 4 > bytes.length) break;
        const v = EXTREMES[int(EXTREMES.length)];
        putU32(bytes, at, v, rnd() < 0.5);
        break;
      }
      case 3:
        bytes = bytes.slice(0, at);
        break;
      case 4: {
        const len = 1 + int(2000);
        const copy = bytes.slice(at, at + len);
        const out = new Uint8Array(bytes.length + copy.length);
        out.set(bytes.subarray(0, at));
        out.set(copy, at);
        out.set(bytes.subarray(at), at + copy.length);
        bytes = out;
        break;
      }
      case 5: {
        const end = Math.min(bytes.length, at + 1 + int(2000));
        const out = new Uint8Array(bytes.length - (end - at));
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(end), at);
        bytes = out;
        break;
      }
      default: {
        const noise = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
        const out = new Uint8Array(bytes.length + noise.length);
        out.set(bytes.subarray(0, at));
        out.set(noise, at);
        out.set(bytes.subarray(at), at + noise.length);
        bytes = out;
      }
    }
  }
  return int(20) === 0 ? gzipSync(bytes) : bytes;
}

export interface Verdict {
  ok: boolean;
  ms: number;
  /** What went wrong, when not ok. */
  failure?: string;
}

/** Runs the analyzer on one input: it must finish, and fail only with a CaptureError. */
export async function checkInput(bytes: Uint8Array, maxMs = 2000): Promise<Verdict> {
  const t = performance.now();
  try {
    await analyzeCapture((async function* () {
      yield bytes;
    })(), { name: 'fuzz.pcap' });
  } catch (error) {
    if (!(error instanceof CaptureError)) {
      return { ok: false, ms: performance.now() - t, failure: (error as Error)?.stack ?? String(error) };
    }
  }
  const ms = performance.now() - t;
  return ms > maxMs ? { ok: false, ms, failure: `took ${ms.toFixed(0)} ms` } : { ok: true, ms };
}
