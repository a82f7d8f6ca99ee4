import { maxOf, minOf } from '../common/numbers.js';
/**
 * Latency histogram with log-spaced buckets (about 2% wide) from 1 µs to
 * ~1.5 hours: percentiles in constant memory, whatever the command count.
 */
const BUCKETS_PER_DOUBLING = 32;
const MIN_MS = 0.001;
const BUCKETS = BUCKETS_PER_DOUBLING * 33;

/**
 * floor(log2(ms / MIN_MS) * 32) without Math.log2 for nearly every value: a histogram add per keep-alive
 * interval, keep-alive RTT and command latency made the logarithm a visible cost on day-long captures.
 * The power of two comes from the double's exponent; the top 10 mantissa bits name a slice of the
 * octave that lies inside one bucket, except for the slices a bucket edge crosses, which fall back.
 */
export function bucketOf(ms: number): number {
  const x = Math.max(ms, MIN_MS) / MIN_MS;
  BITS[0] = x;
  const high = WORDS[HIGH_WORD];
  const slice = SLICE_BUCKET[(high >>> 10) & 1023];
  if (slice < 0) return Math.floor(Math.log2(x) * BUCKETS_PER_DOUBLING);
  return ((high >>> 20) - 1023) * BUCKETS_PER_DOUBLING + slice;
}

const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);
/** Index of the word holding sign, exponent and the top mantissa bits (1 on little-endian machines). */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
/** Per 1/1024 slice of an octave: its bucket within the octave, or -1 when a bucket edge lies in or near it. */
const SLICE_BUCKET = Int8Array.from({ length: 1024 }, (_, m) => {
  const from = Math.log2(1 + m / 1024) * BUCKETS_PER_DOUBLING;
  const to = Math.log2(1 + (m + 1) / 1024) * BUCKETS_PER_DOUBLING;
  const margin = 1e-9;
  const k = Math.floor(from - margin);
  return Math.floor(from + margin) === k && Math.floor(to - margin) === k && Math.floor(to) === k ? k : -1;
});

/** Values kept as they are before the buckets are allocated: exact percentiles, a few bytes, for the many small histograms. */
const RAW_MAX = 32;

export class LatencyHistogram {
  /** The first values, until RAW_MAX: most associations' keep-alive histograms never need buckets. */
  private raw: number[] | undefined = undefined;
  /**
   * Past RAW_MAX values: [max, min, bucket counts…] in one buffer. Double fields of an object live in
   * boxes of their own, so an add touched three more places in memory; on a day-long keep-alive
   * capture, with the capture streaming through the caches, that made each add cost ~50 ns.
   */
  private data: Float64Array | undefined = undefined;
  count = 0;

  get max(): number {
    if (this.data) return this.data[0];
    return this.raw ? maxOf(this.raw, 0) : 0;
  }

  get min(): number {
    if (this.data) return this.data[1];
    return this.raw ? minOf(this.raw) : Infinity;
  }

  add(ms: number): void {
    this.count++;
    const data = this.data;
    if (data) {
      if (ms > data[0]) data[0] = ms;
      if (ms < data[1]) data[1] = ms;
      data[FIRST_BUCKET + Math.min(BUCKETS - 1, bucketOf(ms))]++;
      return;
    }
    const raw = (this.raw ??= []);
    raw.push(ms);
    if (raw.length > RAW_MAX) {
      const filled = new Float64Array(FIRST_BUCKET + BUCKETS);
      filled[0] = maxOf(raw);
      filled[1] = minOf(raw);
      for (const v of raw) filled[FIRST_BUCKET + Math.min(BUCKETS - 1, bucketOf(v))]++;
      this.data = filled;
      this.raw = undefined;
    }
  }

  /**
   * The q-quantile: exact while the values are few; past that the upper edge
   * of the bucket holding it, capped by the true maximum.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (this.raw) return [...this.raw].sort((a, b) => a - b)[rank - 1];
    const data = this.data!;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += data[FIRST_BUCKET + i];
      if (seen >= rank) return Math.min(data[0], MIN_MS * 2 ** ((i + 1) / BUCKETS_PER_DOUBLING));
    }
    return data[0];
  }
}

/** data[0] is the maximum, data[1] the minimum, the buckets follow. */
const FIRST_BUCKET = 2;
