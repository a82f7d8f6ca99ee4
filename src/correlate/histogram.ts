/**
 * Latency histogram with log-spaced buckets (about 2% wide) from 1 µs to
 * ~1.5 hours: percentiles in constant memory, whatever the command count.
 */
const BUCKETS_PER_DOUBLING = 32;
const MIN_MS = 0.001;
const BUCKETS = BUCKETS_PER_DOUBLING * 33;

/** Values kept as they are before the buckets are allocated: exact percentiles, a few bytes, for the many small histograms. */
const RAW_MAX = 32;

export class LatencyHistogram {
  /** The first values, until RAW_MAX: most associations' keep-alive histograms never need buckets. */
  private raw: number[] | undefined;
  /** Allocated past RAW_MAX values. */
  private counts: Uint32Array | undefined;
  count = 0;
  max = 0;
  min = Infinity;

  add(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
    if (this.counts) {
      this.bucket(ms);
      return;
    }
    (this.raw ??= []).push(ms);
    if (this.raw.length > RAW_MAX) {
      this.counts = new Uint32Array(BUCKETS);
      for (const v of this.raw) this.bucket(v);
      this.raw = undefined;
    }
  }

  private bucket(ms: number): void {
    const v = Math.max(ms, MIN_MS);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log2(v / MIN_MS) * BUCKETS_PER_DOUBLING));
    this.counts![i]++;
  }

  /**
   * The q-quantile: exact while the values are few; past that the upper edge
   * of the bucket holding it, capped by the true maximum.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (this.raw) return [...this.raw].sort((a, b) => a - b)[rank - 1];
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts![i];
      if (seen >= rank) return Math.min(this.max, MIN_MS * 2 ** ((i + 1) / BUCKETS_PER_DOUBLING));
    }
    return this.max;
  }
}
